"""`jaxvision bench`: runs without TensorFlow, reports consistent numbers, knows device peaks."""

import json
import os
import subprocess
import sys

import pytest

from jaxvision.commands import bench

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
from jaxvision.commands import bench
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


def test_model_settings_reach_the_model_and_the_json():
  proc = run_blocked("--model", "vit_test", "--batch-size", "8", "--image-size", "16",
                     "--dtype", "float32", "--steps", "1", "--num-classes", "10", "--json",
                     "--model-setting", "attention_impl=dot_product",
                     "--model-setting", "fused_qkv=True")
  assert proc.returncode == 0, proc.stderr
  r = json.loads(proc.stdout.strip().splitlines()[-1])
  assert r["model_settings"] == {"attention_impl": "'dot_product'", "fused_qkv": "True"}
  assert r["flops_source"] == "compiled" and r["flops_per_step"] > 0
  proc = run_blocked("--model", "resnet18", "--steps", "1", "--model-setting", "heads=3")
  assert proc.returncode == 2 and "does not take these settings" in proc.stderr


def test_parse_model_settings():
  assert bench.parse_model_settings(["a=cudnn", "b=True", "c=(1, 2)", "d='x'"]) == {
      "a": "cudnn", "b": True, "c": (1, 2), "d": "x"}
  for bad in ("novalue", "1x=2"):
    with pytest.raises(ValueError, match="NAME=VALUE"):
      bench.parse_model_settings([bad])


class _Cost:
  def __init__(self, flops=None, error=None):
    self.flops, self.error = flops, error

  def cost_analysis(self):
    if self.error:
      raise self.error
    return None if self.flops is None else [{"flops": self.flops}]


@pytest.mark.parametrize("compiled,lowered,cpu,expected", [
    # A CPU backend: compiled and lowered agree; the CPU lowering is never asked.
    (_Cost(100.0), _Cost(380.0), None, (400.0, "compiled")),
    # A GPU under a PJRT plugin: no lowered count, cuDNN/cuBLAS calls missing from compiled.
    (_Cost(2.0), _Cost(error=NotImplementedError("plugin")), 390.0, (390.0, "lowered for cpu")),
    (_Cost(2.0), _Cost(None), 390.0, (390.0, "lowered for cpu")),
    # A backend whose lowered count exists but whose compiled one hides library calls.
    (_Cost(2.0), _Cost(390.0), 385.0, (390.0, "lowered")),
    # No count anywhere but the compiled one: kept.
    (_Cost(2.0), _Cost(None), 0.0, (8.0, "compiled")),
])
def test_step_flops_routes(compiled, lowered, cpu, expected):
  def cpu_count():
    assert cpu is not None, "the CPU lowering was asked although not needed"
    return cpu
  flops, source, counts = bench.step_flops(compiled, lowered, 4, cpu_count)
  assert (flops, source) == expected and counts["compiled"] == 4 * compiled.flops


def test_cpu_lowering_counts_the_same_step(monkeypatch):
  # As on a GPU, where the backend gives no lowered count: the CPU lowering of the same step
  # (here with the attention setting a CPU lowering swaps for 'xla') counts what XLA's
  # compiled CPU program of 8 devices counts.
  real, calls = bench._lowered_flops, []

  def first_call_counts_nothing(lowered):
    calls.append(lowered)
    return 0.0 if len(calls) == 1 else real(lowered)

  monkeypatch.setattr(bench, "_lowered_flops", first_call_counts_nothing)
  r = bench.run_benchmark("vit_test", 8, 16, "float32", 1, num_classes=10, warmup=0,
                          model_settings={"attention_impl": "dot_product"})
  assert r["flops_lowered"] == 0.0 and r["flops_source"] == "compiled"
  assert 0.9 < r["flops_cpu_lowered"] / r["flops_compiled"] < 1.1
