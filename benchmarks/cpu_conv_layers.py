"""One convolution at a time on the CPU: forward plus both gradients, XLA's
(`lax.conv_general_dilated`) against the GEMM form (jaxvision/models/conv_gemm.py).

  python benchmarks/cpu_conv_layers.py [LABEL_SUBSTRING ...] [--reps 3]

The shapes are layers of jaxvision's model families at the sizes their CPU configs and the
issue-26 benchmarks use (LeNet-5 at 32x32, CIFAR ResNets at 32x32 batch 128, MixMatch's
ResNet at 28x28 batch 96, ResNet-18 at 32x32, ResNet-50 at 224 batch 16, NiN at 32x32,
AlexNet and VGG at Fashion-MNIST sizes). Each is jitted as value_and_grad of sum(sin(conv)),
run once to compile and warm up, then timed `reps` times (median). The table is the evidence
behind `conv_impl='auto'`'s CPU rule (`conv_gemm.gemm_wins_on_cpu`, printed per row).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.process_setup import like_the_jaxvision_command  # noqa: E402

like_the_jaxvision_command()

# (label, batch, input hw, cin, cout, kernel, stride, padding)
SHAPES = [
    ("lenet c1", 128, 32, 1, 6, 5, 1, 0), ("lenet c3", 128, 14, 6, 16, 5, 1, 0),
    ("lenet c5", 128, 5, 16, 120, 5, 1, 0),
    ("cifar 3->16 32", 128, 32, 3, 16, 3, 1, 1), ("cifar 16 32", 128, 32, 16, 16, 3, 1, 1),
    ("cifar 32 16", 128, 16, 32, 32, 3, 1, 1), ("cifar 64 8", 128, 8, 64, 64, 3, 1, 1),
    ("mixmatch 16 28 b96", 96, 28, 16, 16, 3, 1, 1),
    ("r18@32 stem 7x7/2", 128, 32, 3, 64, 7, 2, 3), ("r18@32 64 8", 128, 8, 64, 64, 3, 1, 1),
    ("r18@32 128 4", 128, 4, 128, 128, 3, 1, 1), ("r18@32 256 2", 128, 2, 256, 256, 3, 1, 1),
    ("r18@32 512 1", 128, 1, 512, 512, 3, 1, 1),
    ("r50 stem 7x7/2 224", 16, 224, 3, 64, 7, 2, 3), ("r50 1x1 64 56", 16, 56, 64, 64, 1, 1, 0),
    ("r50 3x3 64 56", 16, 56, 64, 64, 3, 1, 1), ("r50 1x1 256->64 56", 16, 56, 256, 64, 1, 1, 0),
    ("r50 3x3 128 28", 16, 28, 128, 128, 3, 1, 1), ("r50 3x3 256 14", 16, 14, 256, 256, 3, 1, 1),
    ("r50 3x3 512 7", 16, 7, 512, 512, 3, 1, 1),
    ("r50 1x1 1024->256 14", 16, 14, 1024, 256, 1, 1, 0),
    ("nin 5x5 3->192 32", 128, 32, 3, 192, 5, 1, 2),
    ("nin 1x1 192->160 32", 128, 32, 192, 160, 1, 1, 0),
    ("nin 5x5 96->192 16", 128, 16, 96, 192, 5, 1, 2),
    ("alexnet@64 11x11/4", 128, 64, 1, 64, 11, 4, 2),
    ("alexnet@64 5x5 64->192 7", 128, 7, 64, 192, 5, 1, 2),
    ("vgg@32 3x3 1->64 32", 128, 32, 1, 64, 3, 1, 1),
    ("vgg@32 3x3 64->128 16", 128, 16, 64, 128, 3, 1, 1),
]


def main(argv=None) -> int:
  import jax
  import jax.numpy as jnp
  import numpy as np
  from jax import lax

  from jaxvision.models.conv_gemm import gemm_conv_general_dilated, gemm_wins_on_cpu

  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("only", nargs="*", help="run only rows whose label contains one of these")
  p.add_argument("--reps", type=int, default=3)
  args = p.parse_args(argv)
  print(f"  {'layer':<26}{'xla ms':>9}{'gemm ms':>9}{'xla/gemm':>10}  auto picks")
  for label, n, hw, cin, cout, k, s, pad in SHAPES:
    if args.only and not any(o in label for o in args.only):
      continue
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, hw, hw, cin)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(k, k, cin, cout)), jnp.float32)
    padding = ((pad, pad), (pad, pad))
    dn = lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))
    med = {}
    for name, conv in (("xla", lax.conv_general_dilated), ("gemm", gemm_conv_general_dilated)):
      f = jax.jit(jax.value_and_grad(
          lambda x, w, conv=conv: jnp.sum(jnp.sin(conv(x, w, (s, s), padding,
                                                       dimension_numbers=dn))), (0, 1)))
      jax.block_until_ready(f(x, w))
      times = []
      for _ in range(args.reps):
        start = time.perf_counter()
        jax.block_until_ready(f(x, w))
        times.append(time.perf_counter() - start)
      med[name] = statistics.median(times)
    pick = "gemm" if gemm_wins_on_cpu(x.shape, w.shape, (s, s), padding) else "xla"
    print(f"  {label:<26}{med['xla'] * 1e3:>9.1f}{med['gemm'] * 1e3:>9.1f}"
          f"{med['xla'] / med['gemm']:>10.2f}  {pick}", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
