"""Every config in configs/ loads, is locked, documents its command, and names real things.

ImageNet and CIFAR data are not on the test machine: these checks need no data. The laptop
configs' smoke runs (`:runlocal`) are in BUILD_NOTES.md, not here: they take minutes.
"""

import ast
import pathlib

import pytest

from jaxvision import models
from jaxvision.config_loading import load_config_file
from jaxvision.data import views
from jaxvision.errors import UserError
from jaxvision.evaluate import protocols
from jaxvision.train.optim import OPTIMIZERS, SCHEDULES

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Paths as a user types them (relative to the repository): the docstrings name them so.
CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.py"))
IMAGENET = [c for c in CONFIGS if c.endswith("_imagenet.py")]


def _variants(path):
  """The file's VARIANTS (its arguments besides runlocal), read without running the file."""
  for node in ast.parse((ROOT / path).read_text()).body:
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "VARIANTS"
                                            for t in node.targets):
      return list(ast.literal_eval(node.value))
  return []


# Every way to name a config: the file, and the file with each of its variants.
SPECS = [c for c in CONFIGS] + [f"{c}:{v}" for c in CONFIGS for v in _variants(c)]


def _load(spec, *extra):
  path, _, arg = spec.partition(":")
  arg = ",".join(a for a in (arg, *extra) if a)
  return load_config_file(str(ROOT / path) + (f":{arg}" if arg else ""))


def test_configs_are_found_from_any_working_directory():
  assert len(CONFIGS) > 30 and "configs/lenet5_digits.py" in CONFIGS


def test_there_is_a_config_per_family():
  names = {pathlib.Path(c).stem for c in CONFIGS}
  for family in ("alexnet", "vgg", "nin", "googlenet", "resnet20", "wrn28_2"):
    assert f"{family}_fashion_mnist" in names
  models_of = {spec: _load(spec).model.name for spec in SPECS
               if spec.startswith("configs/resnet20_fashion_mnist.py")}
  assert models_of == {"configs/resnet20_fashion_mnist.py": "resnet20",
                       "configs/resnet20_fashion_mnist.py:se": "se_resnet20",
                       "configs/resnet20_fashion_mnist.py:bam": "bam_resnet20"}
  for name in ("alexnet", "vgg16", "googlenet", "bn_inception", "inception_v3", "resnet50"):
    assert f"{name}_imagenet" in names
  assert _load("configs/resnet50_imagenet.py:se").model.name == "se_resnet50"
  assert _load("configs/resnet50_imagenet.py:bam").model.name == "bam_resnet50"
  assert {"resnet56_cifar10", "nin_cifar10"} <= names


@pytest.mark.parametrize("spec", SPECS)
def test_docstring_names_the_command_hardware_and_result(spec):
  path = spec.partition(":")[0]
  doc = ast.get_docstring(ast.parse((ROOT / path).read_text()))
  assert doc, f"{path} has no docstring"
  assert f"jaxvision train --config {spec}" in doc
  assert "Hardware" in doc
  assert any(word in doc for word in ("Result", "result", "accuracy", "error"))


@pytest.mark.parametrize("path", [c for c in CONFIGS if _variants(c)])
def test_an_unknown_variant_is_a_one_line_error(path):
  with pytest.raises(UserError, match="unknown argument 'nonsense'"):
    _load(f"{path}:nonsense")


@pytest.mark.parametrize("extra", [(), ("runlocal",)])
@pytest.mark.parametrize("spec", SPECS)
def test_loads_locked_and_valid(spec, extra):
  config = _load(spec, *extra)
  assert config.is_locked
  with pytest.raises(AttributeError):
    config.learning_rat = 1.0  # a typo is an error, not a new field
  assert config.model.name in models.MODELS
  assert config.optimizer in OPTIMIZERS and config.schedule in SCHEDULES
  assert config.learning_rate > 0 and config.batch_size > 0
  assert config.num_train_steps > 0 or config.num_epochs > 0
  assert len(config.data.mean) == len(config.data.std)
  assert all(0.0 < f < 1.0 for f in config.lr_decay_at)
  views.check_data_config(config.data)  # augment ops, resize method, crop bounds
  for mode in protocols.MODES:
    # dense also needs a model whose pool5 covers the fc window; the multi-scale modes need
    # test scales Q >= image_size (from data.eval_resize or the multiscale range), which
    # only the configs of VGG-style runs set
    if mode != "dense" and mode not in protocols.SCALE_MODES:
      protocols.check_protocol(config.data, mode)


@pytest.mark.parametrize("spec", SPECS)
def test_runlocal_is_small(spec):
  config = _load(spec, "runlocal")
  assert 0 < config.num_train_steps <= 50 or (
      config.num_train_steps <= 0 and config.data.name == "digits" and config.num_epochs <= 1)


@pytest.mark.parametrize("path", IMAGENET)
def test_imagenet_configs(path):
  config = _load(path)
  assert config.data.name == "tfds:imagenet2012"
  size = 299 if "inception_v3" in path else 224
  assert config.data.image_size == size
  assert config.data.resize in ("center_crop", "alexnet")
  assert len(config.data.mean) == 3


def test_paper_hyperparameters():
  """The numbers the issue quotes from the papers, where the papers give them."""
  alexnet = _load("configs/alexnet_imagenet.py")
  assert (alexnet.batch_size, alexnet.learning_rate, alexnet.momentum,
          alexnet.weight_decay, alexnet.num_epochs) == (128, 0.01, 0.9, 5e-4, 90)
  assert alexnet.data.augment == ("alexnet_crop", "flip", "pca_lighting")
  vgg = _load("configs/vgg16_imagenet.py")
  assert (vgg.batch_size, vgg.learning_rate, vgg.weight_decay, vgg.num_epochs) == (
      256, 0.01, 5e-4, 74)
  assert (vgg.data.multiscale_min, vgg.data.multiscale_max) == (256, 512)
  assert vgg.model.dropout_rate == 0.5
  v3 = _load("configs/inception_v3_imagenet.py")
  assert (v3.optimizer, v3.learning_rate, v3.label_smoothing, v3.batch_size) == (
      "rmsprop", 0.045, 0.1, 1600)
  resnet = _load("configs/resnet50_imagenet.py")
  assert (resnet.batch_size, resnet.learning_rate, resnet.weight_decay, resnet.num_epochs) == (
      256, 0.1, 1e-4, 90)
  assert [round(f * 90) for f in resnet.lr_decay_at] == [30, 60]
  cifar = _load("configs/resnet56_cifar10.py")
  assert (cifar.batch_size, cifar.learning_rate, cifar.weight_decay,
          cifar.num_train_steps) == (128, 0.1, 1e-4, 64_000)
  assert [int(f * 64_000) for f in cifar.lr_decay_at] == [32_000, 48_000]
  assert cifar.data.augment == ("random_crop", "flip") and cifar.data.crop_padding == 4


@pytest.mark.parametrize("path, epochs, every, factor", [
    ("configs/googlenet_imagenet.py", 250, 8, 0.96),
    ("configs/inception_v3_imagenet.py", 100, 2, 0.94),
])
def test_exponential_decays_as_steps(path, epochs, every, factor):
  config = _load(path)
  assert config.lr_decay_factor == factor
  assert [round(f * epochs, 6) for f in config.lr_decay_at] == list(range(every, epochs, every))
