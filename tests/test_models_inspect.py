"""jaxvision models: parameter counts and XLA FLOPs of registered models, without TensorFlow."""

import os
import subprocess
import sys

import pytest

from jaxvision.commands.cost import cost_flops
from jaxvision.commands.models import describe_models


def test_describe_cifar_resnet20():
  (row,) = describe_models(["resnet20"])
  assert row["name"] == "resnet20"
  assert row["params"] == 269_722  # He et al.'s ResNet-20, 10 classes.
  assert row["input_shape"] == (32, 32, 3)
  assert row["description"]
  # ResNet-20 is ~41M multiply-adds (2 FLOPs each); XLA adds the elementwise work and
  # may count a few ops differently, hence the tolerance.
  assert 0.85 * 0.082 < row["gflops"] < 1.15 * 0.082


def test_aux_heads_excluded():
  (row,) = describe_models(["googlenet"])
  assert row["params"] == 6_624_904  # torchvision's GoogLeNet without its aux heads.
  assert row["gflops"] > 2.0  # ~1.5G multiply-adds.


def test_unknown_names_rejected():
  with pytest.raises(KeyError, match="Valid names"):
    describe_models(["resnet21"])


def test_cost_analysis_formats_across_jax_versions():
  assert cost_flops({"flops": 2e9}) == 2e9
  assert cost_flops([{"flops": 1e9}, {"flops": 3e9}]) == 4e9
  assert cost_flops(None) == 0.0  # bench: no count from this route
  nan = cost_flops(None, missing=float("nan"))  # models: NaN when there is no analysis
  assert nan != nan


def test_no_tensorflow_import():
  code = ("import sys, jaxvision.commands.models, jaxvision.commands.bench, jaxvision.models; "
          "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
  subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ,
                 "JAX_PLATFORMS": "cpu"})
