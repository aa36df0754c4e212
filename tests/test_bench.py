"""`jaxvision bench`: runs without TensorFlow, reports consistent numbers, knows device peaks."""

import json
import os
import subprocess
import sys

import pytest

from jaxvision import bench

# Block TensorFlow and ml_collections as on an accelerator host that lacks them, then run
# the command's main in a fresh interpreter with 4 CPU devices.
BLOCKED_RUN = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
  def find_spec(self, name, path=None, target=None):
    if name.split('.')[0] in ('tensorflow', 'tensorflow_datasets', 'ml_collections'):
      raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import jax
jax.config.update('jax_num_cpu_devices', 4)
from jaxvision import bench
sys.exit(bench.main(sys.argv[1:]))
"""


def run_blocked(*argv):
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=os.getcwd())
  return subprocess.run([sys.executable, "-c", BLOCKED_RUN, *argv], env=env,
                        capture_output=True, text=True, timeout=300)


def test_runs_without_tensorflow_and_prints_json():
  proc = run_blocked("--model", "lenet5", "--batch-size", "16", "--image-size", "32",
                     "--dtype", "bfloat16", "--steps", "2", "--num-classes", "10", "--json",
                     "--peak-tflops", "2")
  assert proc.returncode == 0, proc.stderr
  r = json.loads(proc.stdout.strip().splitlines()[-1])
  assert r["num_devices"] == 4 and r["dtype"] == "bfloat16" and r["params"] > 0
  assert r["images_per_s"] == pytest.approx(16 / (r["step_ms"] / 1e3))
  assert r["tflops_per_s"] == pytest.approx(r["flops_per_step"] / (r["step_ms"] / 1e3) / 1e12)
  assert r["mfu"] == pytest.approx(r["tflops_per_s"] / (4 * 2.0))


def test_unknown_model_is_a_one_line_error():
  proc = run_blocked("--model", "resnet_nope", "--steps", "1")
  assert proc.returncode == 2
  assert proc.stderr.startswith("jaxvision: error: unknown model 'resnet_nope'")
  assert len(proc.stderr.strip().splitlines()) == 1


def test_flops_are_those_of_a_train_step():
  # LeNet-5 at 32x32x3, per image forward multiply-adds (dense C3 kernel, as implemented):
  # C1 28*28*6*75, C3 10*10*16*150, C5 120*400, F6 84*120, output 10*84. A train step is
  # about 3x the forward (backward: input and weight gradients), 2 FLOPs per multiply-add;
  # XLA also counts elementwise work, hence the loose upper bound.
  macs = 28 * 28 * 6 * 75 + 10 * 10 * 16 * 150 + 120 * 400 + 84 * 120 + 10 * 84
  r = bench.run_benchmark("lenet5", 16, 32, "float32", 1, num_classes=10, warmup=0)
  assert r["num_devices"] == 8 and r["mfu"] is None  # CPU: no peak in the table
  expected = 16 * 3 * 2 * macs
  assert 0.9 * expected < r["flops_per_step"] < 1.5 * expected
  assert "n/a" in bench.format_table(r)


@pytest.mark.parametrize("kind,dtype,peak", [
    ("NVIDIA H100 80GB HBM3", "bfloat16", 989.5),
    ("NVIDIA H100 80GB HBM3", "float32", 494.5),
    ("NVIDIA H100 PCIe", "bfloat16", 756.5),
    ("NVIDIA H200", "bfloat16", 989.5),
    ("NVIDIA A100-SXM4-80GB", "float32", 156.0),
    ("TPU v4", "bfloat16", 275.0),
    ("TPU v5 lite", "bfloat16", 197.0),
    ("TPU v5", "bfloat16", 459.0),
    ("cpu", "bfloat16", None),
])
def test_peak_table(kind, dtype, peak):
  assert bench.peak_tflops(kind, dtype)[0] == peak
