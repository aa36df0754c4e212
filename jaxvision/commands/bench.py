"""`jaxvision bench`: train-step speed of a model on synthetic data, with MFU.

  jaxvision bench --model resnet50 --batch-size 256 --image-size 224 --dtype bfloat16 \
      --steps 20 [--json] [--peak-tflops X]
  python -m jaxvision.commands.bench ...   (the same, without the CLI)

It times exactly the step `jaxvision train` runs: `compile_train_step` over a mesh of every
device, the Supervised objective, SGD with momentum, the state donated. One random batch is
placed on the devices once and reused, so no input pipeline is measured (for that, see
benchmarks/input_pipeline.py). Reported: compile time (trace + lower + XLA compile), the
median of `steps` step times after `warmup` steps (each synchronised with
block_until_ready), images/s, FLOPs per step from XLA's cost analysis (see `step_flops`),
and MFU against the device's dense peak.

--model-setting NAME=VALUE (repeatable) sets a model attribute, the value read as a Python
literal (a bare word is a string): e.g. `--model-setting attention_impl=cudnn` for a ViT.
The settings and $XLA_FLAGS are recorded in the JSON, so variants can be told apart.

Imports jax, flax, optax and jaxvision's models/objectives/parallel/train.experiment/step/
state/optim only, never TensorFlow or ml_collections: accelerator hosts may lack them. jax is imported
inside functions so that `peak_tflops` and `format_table` stay usable from scripts that run
another framework (benchmarks/torch_reference.py).
"""

import argparse
import ast
import json
import os
import statistics
import sys
import time

from jaxvision.commands.cost import cost_flops

HELP = "train-step speed and MFU on synthetic data"
DTYPE_NAMES = ("bfloat16", "float32")

# Dense (no structured sparsity) peak TFLOP/s per chip, (bfloat16, float32), from the vendors'
# datasheets; NVIDIA lists "with sparsity" figures, halved here. float32 on NVIDIA is the
# TF32 tensor-core peak because XLA's default matmul/conv precision uses TF32 on Ampere and
# later (jax.lax.Precision.DEFAULT); on TPU it is the bf16 peak because DEFAULT precision runs
# float32 dots as one bfloat16 pass. Checked in order: the first substring of the lower-cased
# `jax.devices()[0].device_kind` (or torch's device name) that matches wins.
PEAK_TFLOPS = (
    # NVIDIA H100 Tensor Core GPU datasheet: PCIe BF16 1,513* / TF32 756*; NVL 1,671* / 835*.
    ("h100 pcie", "NVIDIA H100 PCIe", 756.5, 378.0),
    ("h100 nvl", "NVIDIA H100 NVL", 835.5, 417.5),
    # H100 SXM5 ("NVIDIA H100 80GB HBM3"): BF16 1,979* TFLOPS, TF32 989* TFLOPS.
    ("h100", "NVIDIA H100 SXM", 989.5, 494.5),
    # NVIDIA H200 datasheet: NVL BF16 1,671* / TF32 835*; SXM BF16 1,979* / TF32 989*
    # (the H100 SXM compute with more, faster memory).
    ("h200 nvl", "NVIDIA H200 NVL", 835.5, 417.5),
    ("h200", "NVIDIA H200 SXM", 989.5, 494.5),
    ("gh200", "NVIDIA GH200", 989.5, 494.5),
    # NVIDIA A100 datasheet: BF16 312 TFLOPS (624*), TF32 156 TFLOPS (312*), SXM and PCIe.
    ("a100", "NVIDIA A100", 312.0, 156.0),
    # Google Cloud TPU system architecture pages, peak bf16 compute per chip:
    # v5e ("TPU v5 lite") 197, v5p ("TPU v5") 459, v4 275, v6e Trillium ("TPU v6 lite") 918.
    ("tpu v5 lite", "TPU v5e", 197.0, 197.0),
    ("tpu v5e", "TPU v5e", 197.0, 197.0),
    ("tpu v5p", "TPU v5p", 459.0, 459.0),
    ("tpu v5", "TPU v5p", 459.0, 459.0),
    ("tpu v4", "TPU v4", 275.0, 275.0),
    ("tpu v6", "TPU v6e", 918.0, 918.0),
)


def peak_tflops(device_kind: str, dtype: str) -> tuple[float | None, str]:
  """(dense peak TFLOP/s per chip, table name) for a device kind, or (None, '') if unknown."""
  kind = device_kind.lower()
  for key, name, bf16, fp32 in PEAK_TFLOPS:
    if key in kind:
      return (bf16 if dtype == "bfloat16" else fp32), name
  return None, ""


def _lowered_flops(lowered) -> float:
  """Flops of a Lowered's pre-optimisation HLO; 0.0 where the backend cannot count them (a
  PJRT plugin such as CUDA's: jax raises NotImplementedError or returns None there)."""
  try:
    return cost_flops(lowered.cost_analysis())
  except Exception:  # noqa: BLE001 - any failure means "no count from this route"
    return 0.0


def _cpu_lowered_flops(make_step, state, batch) -> float:
  """Flops of the same step lowered (not compiled) for one CPU device; 0.0 if that fails.

  XLA's CPU client counts a module's HLO before optimisation, where convolutions and dots are
  still plain HLO ops: the count a GPU backend cannot give (its lowered cost analysis is
  unimplemented under the PJRT plugin; its compiled one skips cuDNN/cuBLAS custom calls).
  """
  import jax

  from jaxvision.parallel import make_mesh

  try:
    cpu = jax.devices("cpu")[:1]
    abstract = lambda tree: jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), tree)
    return _lowered_flops(make_step(make_mesh(cpu)).lower(abstract(state), abstract(batch)))
  except Exception as e:  # noqa: BLE001 - no CPU backend (JAX_PLATFORMS), or it cannot lower
    # A FLOP count is not worth a failed benchmark: say why on stderr, report the others.
    print(f"jaxvision bench: no CPU FLOP count ({type(e).__name__}: {e})"[:500], file=sys.stderr)
    return 0.0


def step_flops(compiled, lowered, num_devices: int, cpu_count) -> tuple[float, str, dict]:
  """(FLOPs of one whole step, source, every count) from the best of three routes.

  compiled: XLA's count of the optimised program of one device (times the devices): the
  default. lowered: the unpartitioned pre-optimisation program on this backend. cpu:
  `cpu_count()`, the same step lowered for the CPU. A backend that hides convolutions or
  matmuls in library calls (cuDNN, cuBLAS) undercounts the compiled program, and a PJRT
  plugin backend counts no lowered one; so when the compiled count is under half the best
  lowered one, or no lowered count exists, the CPU lowering is asked and the lowered count
  used if the compiled one is under half of it.
  """
  try:
    compiled_flops = cost_flops(compiled.cost_analysis()) * num_devices
  except Exception:  # noqa: BLE001 - as _lowered_flops: no count from this route
    compiled_flops = 0.0
  counts = {"compiled": compiled_flops, "lowered": _lowered_flops(lowered)}
  best, source = counts["compiled"], "compiled"
  if counts["lowered"] <= 0 or best < 0.5 * counts["lowered"]:
    counts["cpu_lowered"] = cpu_count()
  reference, ref_source = max((counts.get("lowered", 0.0), "lowered"),
                              (counts.get("cpu_lowered", 0.0), "lowered for cpu"))
  if best < 0.5 * reference:
    best, source = reference, ref_source
  return best, source, counts


def parse_model_settings(items) -> dict:
  """['attention_impl=cudnn', 'fused_qkv=True'] -> {'attention_impl': 'cudnn', ...}."""
  settings = {}
  for item in items or ():
    name, sep, text = item.partition("=")
    if not sep or not name.isidentifier():
      raise ValueError(f"--model-setting takes NAME=VALUE, got {item!r}")
    try:
      settings[name] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      settings[name] = text  # A bare word: a string.
  return settings


def _takes_image_size(build) -> bool:
  import dataclasses
  import functools

  cls = build.func if isinstance(build, functools.partial) else build
  return dataclasses.is_dataclass(cls) and any(
      f.name == "image_size" for f in dataclasses.fields(cls))


def run_benchmark(model: str, batch_size: int, image_size: int, dtype: str, steps: int,
                  peak_tflops: float | None = None, num_classes: int = 1000, *,
                  warmup: int = 2, grad_accum_steps: int = 1, channels: int = 3,
                  model_settings: dict | None = None) -> dict:
  """Compiles and times jaxvision's train step of `model`; returns the measurements.

  FLOPs: see `step_flops` (flops_source names the route taken); MFU divides by the step
  time and by the peak of every device. XLA counts 2 FLOPs per multiply-add and, for
  convolutions, only taps that fall inside the (unpadded) input: at 224x224 that is within
  a few % of the usual count, at 32x32 (1x1 maps in ResNet's last stage) ~40% lower.
  model_settings: model attributes to override (e.g. {"attention_impl": "cudnn"}); the CPU
  FLOP count runs the model with attention_impl="xla" (the same math, no GPU custom call).
  Raises UserError for an unknown model or a setting it does not take, ValueError for a bad
  size or step count.
  """
  import jax
  import numpy as np

  from jaxvision import models, objectives
  from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
  from jaxvision.train.experiment import make_model
  from jaxvision.train.optim import OptimizerSettings, make_optimizer
  from jaxvision.train.state import count_params, create_state
  from jaxvision.train.step import compile_train_step

  if dtype not in DTYPE_NAMES:
    raise ValueError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {dtype!r}")
  if steps < 1 or warmup < 0:
    raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
  mesh = make_mesh()
  if batch_size < 1 or batch_size % mesh.size:
    raise ValueError(f"batch size {batch_size} is not a positive multiple of the "
                     f"{mesh.size} devices")
  kwargs = {}
  if model in models.MODELS and _takes_image_size(models.MODELS[model].build):
    kwargs["image_size"] = image_size  # ViTs size their position table to the input
  model_settings = dict(model_settings or {})
  kwargs.update(model_settings)
  net = make_model(model, num_classes=num_classes, dtype=dtype, settings=kwargs)
  # SGD with momentum 0.9 at a constant rate: the step `train` runs, without a schedule.
  tx, schedule = make_optimizer(OptimizerSettings(schedule="constant"), warmup + steps)
  input_shape = (image_size, image_size, channels)
  init = jax.jit(lambda r: create_state(net, tx, r, input_shape),
                 out_shardings=replicated_sharding(mesh))
  state = init(jax.random.key(0))

  def make_step(on_mesh, module=net):
    return compile_train_step(on_mesh, loss_fn=objectives.Supervised(model=module).loss_fn,
                              tx=tx, schedule=schedule, base_rng=jax.random.key(1),
                              grad_accum_steps=grad_accum_steps)

  train_step = make_step(mesh)
  rng = np.random.default_rng(0)
  local = batch_size // jax.process_count()
  batch = global_batch({"image": rng.standard_normal((local, *input_shape), np.float32),
                        "label": rng.integers(0, num_classes, local).astype(np.int32)}, mesh)

  start = time.perf_counter()
  lowered = train_step.lower(state, batch)
  compiled = lowered.compile()
  compile_s = time.perf_counter() - start
  # cuDNN attention is a GPU custom call the CPU cannot lower: count XLA's (the same math).
  cpu_net = (net.clone(attention_impl="xla") if getattr(net, "attention_impl", "xla") != "xla"
             else net)
  flops, source, flop_counts = step_flops(
      compiled, lowered, mesh.size,
      lambda: _cpu_lowered_flops(lambda m: make_step(m, cpu_net), state, batch))

  times = []
  for i in range(warmup + steps):
    start = time.perf_counter()
    state, metrics = compiled(state, batch)
    jax.block_until_ready((state, metrics))
    if i >= warmup:
      times.append(time.perf_counter() - start)
  loss = float(metrics["loss"])
  step_s = statistics.median(times)

  device = jax.devices()[0]
  peak, peak_name = (peak_tflops, "given") if peak_tflops else globals()["peak_tflops"](
      device.device_kind, dtype)
  achieved = flops / step_s / 1e12
  return {
      "framework": "jaxvision", "model": model, "batch_size": batch_size,
      "image_size": image_size, "dtype": dtype, "num_classes": num_classes,
      "grad_accum_steps": grad_accum_steps,
      "params": count_params(state.params), "platform": device.platform,
      "device": device.device_kind, "num_devices": mesh.size,
      "jax": jax.__version__, "compile_s": compile_s, "steps": steps, "warmup": warmup,
      "step_ms": step_s * 1e3, "step_ms_min": min(times) * 1e3,
      "images_per_s": batch_size / step_s,
      "flops_per_step": flops, "flops_source": source,
      "flops_compiled": flop_counts["compiled"], "flops_lowered": flop_counts["lowered"],
      "flops_cpu_lowered": flop_counts.get("cpu_lowered"),
      "model_settings": {k: repr(v) for k, v in model_settings.items()},
      "xla_flags": os.environ.get("XLA_FLAGS", ""),
      "tflops_per_s": achieved,
      "peak_tflops_per_device": peak, "peak_name": peak_name,
      "mfu": achieved / (peak * mesh.size) if peak else None, "final_loss": loss,
  }


def format_table(result: dict) -> str:
  """A two-column table of one benchmark result (jaxvision's or the torch reference's)."""
  r = result
  mfu = (f"{100 * r['mfu']:.1f}% of {r['num_devices']} x {r['peak_tflops_per_device']:g} "
         f"TFLOP/s ({r['peak_name']}, {r['dtype']} dense)" if r.get("mfu") is not None
         else "n/a (unknown device peak; give --peak-tflops)")
  rows = [
      ("framework", r["framework"]),
      ("model", f"{r['model']} ({r['params']:,} params, {r['num_classes']} classes)"),
      ("input", f"batch {r['batch_size']}, {r['image_size']}x{r['image_size']}, {r['dtype']}"),
      ("devices", f"{r['num_devices']} x {r['device']}"),
      ("compile", f"{r['compile_s']:.1f} s"),
      (f"step (median of {r['steps']})", f"{r['step_ms']:.2f} ms (min {r['step_ms_min']:.2f})"),
      ("images/s", f"{r['images_per_s']:,.1f}"),
      ("GFLOP/step", f"{r['flops_per_step'] / 1e9:,.1f} ({r.get('flops_source', '')})"),
      ("TFLOP/s", f"{r['tflops_per_s']:.3f}"),
      ("MFU", mfu),
  ]
  width = max(len(k) for k, _ in rows)
  return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("--model", required=True, help="a name from `jaxvision models`")
  p.add_argument("--batch-size", type=int, default=128, help="global batch (all devices)")
  p.add_argument("--image-size", type=int, default=224)
  p.add_argument("--dtype", choices=DTYPE_NAMES, default="bfloat16", help="compute dtype")
  p.add_argument("--steps", type=int, default=20, help="timed steps (after --warmup)")
  p.add_argument("--warmup", type=int, default=2)
  p.add_argument("--num-classes", type=int, default=1000)
  p.add_argument("--grad-accum-steps", type=int, default=1)
  p.add_argument("--model-setting", action="append", default=[], metavar="NAME=VALUE",
                 help="a model attribute (a Python literal or a bare word), repeatable: "
                      "e.g. attention_impl=cudnn")
  p.add_argument("--peak-tflops", type=float, default=None,
                 help="dense peak TFLOP/s per device for MFU (default: from the device kind)")
  p.add_argument("--json", action="store_true", help="print one JSON object instead")


def add_parser(subparsers) -> argparse.ArgumentParser:
  """Adds `bench` to the `jaxvision` command's subparsers."""
  p = subparsers.add_parser("bench", help=HELP)
  _add_arguments(p)
  return p


def run(args, rest=()) -> int:
  """Runs `jaxvision bench` from parsed arguments; 2 with a one-line error for bad input."""
  from jaxvision.errors import UserError

  try:
    result = run_benchmark(args.model, args.batch_size, args.image_size, args.dtype,
                           args.steps, args.peak_tflops, args.num_classes,
                           warmup=args.warmup, grad_accum_steps=args.grad_accum_steps,
                           model_settings=parse_model_settings(args.model_setting))
  except (KeyError, ValueError, UserError) as e:
    message = e.args[0] if e.args else str(e)
    print(f"jaxvision: error: {message}", file=sys.stderr)
    return 2
  if args.json:
    print(json.dumps(result, sort_keys=True))
  else:
    print(format_table(result), flush=True)
  return 0


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="jaxvision bench", description=__doc__.split("\n")[0])
  _add_arguments(parser)
  return run(parser.parse_args(argv))


if __name__ == "__main__":
  sys.exit(main())
