"""The torchvision twin of `jaxvision bench`: the same model, batch, size and precision.

  python benchmarks/torch_reference.py --model resnet50 --batch-size 256 --image-size 224 \
      --dtype bfloat16 --steps 20 [--json] [--both] [--no-compile]

One SGD-with-momentum train step (cross-entropy, lr 0.1, momentum 0.9) on one random batch
kept on the device. On a GPU: bfloat16 autocast (parameters float32, as jaxvision's
param_dtype), channels_last, the model under torch.compile, a fused/foreach SGD. On the CPU:
eager (torch.compile's CPU code generation is another measurement), float32 unless
--dtype bfloat16 asks for CPU autocast. FLOPs come from torch.utils.flop_counter over one
eager step: matmuls and convolutions only, so they run a little below XLA's count, which
also includes elementwise work.

--both first runs `python -m jaxvision.commands.bench --json` with the same settings in a child
process (so the two frameworks never share the GPU's memory), then this, and prints both
tables and the ratio of images/s. Needs torch and torchvision (the [interop] extra).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from jaxvision.commands.bench import DTYPE_NAMES, format_table, peak_tflops  # noqa: E402  (no jax)

# jaxvision registry name -> torchvision constructor name, where they differ.
TORCHVISION_NAMES = {"vit_base": "vit_b_16", "vit_large": "vit_l_16", "inception_v3": "inception_v3"}


def build_model(name: str, num_classes: int, image_size: int):
  import torchvision

  tv_name = TORCHVISION_NAMES.get(name, name)
  if not hasattr(torchvision.models, tv_name):
    raise KeyError(f"torchvision has no model {tv_name!r} (jaxvision name {name!r})")
  kwargs = {"num_classes": num_classes}
  if tv_name.startswith("vit_"):
    kwargs["image_size"] = image_size
  if tv_name in ("googlenet", "inception_v3"):
    kwargs.update(aux_logits=False, init_weights=True)
  return getattr(torchvision.models, tv_name)(**kwargs)


def count_flops(model, images, labels, autocast) -> float:
  import torch
  import torch.nn.functional as F
  from torch.utils.flop_counter import FlopCounterMode

  counter = FlopCounterMode(display=False)
  with counter:
    with autocast():
      loss = F.cross_entropy(model(images), labels)
    loss.backward()
  model.zero_grad(set_to_none=True)
  return float(counter.get_total_flops())


def run_torch_benchmark(model: str, batch_size: int, image_size: int, dtype: str, steps: int,
                        peak: float | None = None, num_classes: int = 1000, *,
                        warmup: int = 2, compile_model: bool | None = None,
                        device: str | None = None, threads: int | None = None) -> dict:
  import contextlib

  import torch
  import torch.nn.functional as F

  if threads:
    torch.set_num_threads(threads)
  device = device or ("cuda" if torch.cuda.is_available() else "cpu")
  cuda = device == "cuda"
  compile_model = cuda if compile_model is None else compile_model
  torch.manual_seed(0)
  net = build_model(model, num_classes, image_size).to(device)
  if cuda:
    net = net.to(memory_format=torch.channels_last)
    torch.backends.cudnn.benchmark = True
  net.train()
  images = torch.randn(batch_size, 3, image_size, image_size, device=device)
  if cuda:
    images = images.contiguous(memory_format=torch.channels_last)
  labels = torch.randint(0, num_classes, (batch_size,), device=device)
  if dtype == "bfloat16":
    def autocast():
      return torch.autocast(device_type=device, dtype=torch.bfloat16)
  else:
    def autocast():
      return contextlib.nullcontext()
  flops = count_flops(net, images, labels, autocast)

  sgd_kwargs = {"fused": True} if cuda else {}
  optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, **sgd_kwargs)
  forward = torch.compile(net) if compile_model else net

  def step():
    optimizer.zero_grad(set_to_none=True)
    with autocast():
      loss = F.cross_entropy(forward(images), labels)
    loss.backward()
    optimizer.step()
    return loss

  def sync():
    if cuda:
      torch.cuda.synchronize()

  start = time.perf_counter()
  step()
  sync()
  first_s = time.perf_counter() - start
  times = []
  for i in range(warmup + steps):
    start = time.perf_counter()
    loss = step()
    sync()
    if i >= warmup:
      times.append(time.perf_counter() - start)
  step_s = statistics.median(times)
  kind = torch.cuda.get_device_name() if cuda else "cpu"
  peak, peak_name = (peak, "given") if peak else peak_tflops(kind, dtype)
  achieved = flops / step_s / 1e12
  mode = ("torch.compile" if compile_model else "eager") + (", channels_last" if cuda else "")
  return {
      "framework": f"torch {torch.__version__} ({mode})", "model": model,
      "batch_size": batch_size, "image_size": image_size, "dtype": dtype,
      "num_classes": num_classes, "params": sum(p.numel() for p in net.parameters()),
      "platform": device, "device": kind, "num_devices": 1,
      "threads": torch.get_num_threads(),
      # The first step compiles (torch.compile, cuDNN autotuning); its excess over a steady
      # step is the compile time.
      "compile_s": max(first_s - step_s, 0.0), "steps": steps, "warmup": warmup,
      "step_ms": step_s * 1e3, "step_ms_min": min(times) * 1e3,
      "images_per_s": batch_size / step_s, "flops_per_step": flops,
      "flops_source": "torch flop_counter", "tflops_per_s": achieved,
      "peak_tflops_per_device": peak, "peak_name": peak_name,
      "mfu": achieved / peak if peak else None, "final_loss": float(loss.detach()),
  }


def run_jaxvision_child(args) -> dict:
  """`python -m jaxvision.commands.bench --json` in a child process with this run's settings."""
  command = [sys.executable, "-m", "jaxvision.commands.bench", "--json", "--model", args.model,
             "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
             "--dtype", args.dtype, "--steps", str(args.steps), "--warmup", str(args.warmup),
             "--num-classes", str(args.num_classes)]
  if args.peak_tflops:
    command += ["--peak-tflops", str(args.peak_tflops)]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
  proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
  if proc.returncode:
    raise RuntimeError(f"jaxvision bench failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", required=True)
  p.add_argument("--batch-size", type=int, default=128)
  p.add_argument("--image-size", type=int, default=224)
  p.add_argument("--dtype", choices=DTYPE_NAMES, default="bfloat16")
  p.add_argument("--steps", type=int, default=20)
  p.add_argument("--warmup", type=int, default=2)
  p.add_argument("--num-classes", type=int, default=1000)
  p.add_argument("--peak-tflops", type=float, default=None)
  p.add_argument("--no-compile", action="store_true", help="eager even on a GPU")
  p.add_argument("--compile", action="store_true", help="torch.compile even on the CPU")
  p.add_argument("--threads", type=int, default=None,
                 help="torch intra-op threads (default: torch's, one per core)")
  p.add_argument("--both", action="store_true", help="also run jaxvision bench; print ratio")
  p.add_argument("--json", action="store_true")
  args = p.parse_args(argv)
  compile_model = False if args.no_compile else (True if args.compile else None)
  jax_result = run_jaxvision_child(args) if args.both else None
  result = run_torch_benchmark(args.model, args.batch_size, args.image_size, args.dtype,
                               args.steps, args.peak_tflops, args.num_classes,
                               warmup=args.warmup, compile_model=compile_model,
                               threads=args.threads)
  if jax_result is None:
    print(json.dumps(result, sort_keys=True) if args.json else format_table(result))
    return 0
  ratio = jax_result["images_per_s"] / result["images_per_s"]
  if args.json:
    print(json.dumps({"jaxvision": jax_result, "torch": result, "ratio": ratio},
                     sort_keys=True))
    return 0
  print(format_table(jax_result))
  print()
  print(format_table(result))
  print(f"\n  jaxvision / torch images/s: {jax_result['images_per_s']:,.1f} / "
        f"{result['images_per_s']:,.1f} = {ratio:.3f}")
  if jax_result["num_devices"] != 1:
    print(f"  (jaxvision used {jax_result['num_devices']} devices, torch 1)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
