"""On the CPU: jaxvision's train step with XLA's convolutions, with GEMM convolutions
(`model.conv_impl='gemm'`, jaxvision/models/conv_gemm.py) and PyTorch eager, interleaved.

  python benchmarks/cpu_conv.py --model resnet18 --batch-size 64 --image-size 32 \
      --num-classes 10 --steps 5 --rounds 4 [--threads 2]

The three steps are compiled/warmed up first, then run in alternating rounds of `steps`
synchronised steps each, so a neighbour's load on a shared machine hits all alike. Printed:
median step time and images/s of each, and the ratios to PyTorch (above 1 = faster).
Needs torch and torchvision (the [interop] extra) for the PyTorch column; float32 only.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def jaxvision_step(model_name, conv_impl, images, labels, num_classes):
  import jax

  from jaxvision import models, objectives
  from jaxvision.bench import _optimizer_config
  from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
  from jaxvision.train.optim import make_optimizer
  from jaxvision.train.state import create_state
  from jaxvision.train.step import compile_train_step

  model = models.get_model(model_name, num_classes=num_classes, conv_impl=conv_impl)
  mesh = make_mesh()
  tx, schedule = make_optimizer(_optimizer_config(), 10**6)
  state = jax.jit(lambda r: create_state(model, tx, r, images.shape[1:]),
                  out_shardings=replicated_sharding(mesh))(jax.random.key(0))
  step = compile_train_step(mesh, loss_fn=objectives.Supervised(model=model).loss_fn, tx=tx,
                            schedule=schedule, base_rng=jax.random.key(1))
  batch = global_batch({"image": images, "label": labels}, mesh)
  holder = [state]

  def run():
    holder[0], metrics = step(holder[0], batch)
    jax.block_until_ready((holder[0], metrics))
  return run


def torch_step(model_name, images, labels, num_classes, threads):
  import torch
  import torch.nn.functional as F

  from benchmarks.torch_reference import build_model

  if threads:
    torch.set_num_threads(threads)
  torch.manual_seed(0)
  net = build_model(model_name, num_classes, images.shape[1]).train()
  x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
  y = torch.from_numpy(labels.astype("int64"))
  opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

  def run():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()
  return run


def main(argv=None) -> int:
  import numpy as np

  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", default="resnet18")
  p.add_argument("--batch-size", type=int, default=64)
  p.add_argument("--image-size", type=int, default=32)
  p.add_argument("--num-classes", type=int, default=10)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--rounds", type=int, default=4)
  p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
  args = p.parse_args(argv)
  rng = np.random.default_rng(0)
  images = rng.standard_normal((args.batch_size, args.image_size, args.image_size, 3),
                               np.float32)
  labels = rng.integers(0, args.num_classes, args.batch_size).astype(np.int32)
  steps = {"jaxvision xla conv": jaxvision_step(args.model, "xla", images, labels,
                                                args.num_classes),
           "jaxvision gemm conv": jaxvision_step(args.model, "gemm", images, labels,
                                                 args.num_classes)}
  try:
    steps["torch eager"] = torch_step(args.model, images, labels, args.num_classes,
                                      args.threads)
  except ImportError:
    print("  (torch/torchvision not installed: no PyTorch column)")
  for fn in list(steps.values()) * 2:  # compile and warm up
    fn()
  times = {name: [] for name in steps}
  for _ in range(args.rounds):
    for name, fn in steps.items():
      for _ in range(args.steps):
        start = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - start)
  print(f"  {args.model}, batch {args.batch_size}, {args.image_size}x{args.image_size}, "
        f"float32, CPU, {os.cpu_count()} cores; median of {args.steps * args.rounds} steps")
  print(f"  {'step':<22}{'ms':>9}{'images/s':>10}{'vs torch':>10}")
  med = {k: statistics.median(v) for k, v in times.items()}
  for name, t in med.items():
    ratio = f"{med['torch eager'] / t:.2f}" if "torch eager" in med else "-"
    print(f"  {name:<22}{t * 1e3:>9.1f}{args.batch_size / t:>10.1f}{ratio:>10}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
