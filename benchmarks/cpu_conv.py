"""On the CPU, side by side: jaxvision's train step with each convolution implementation
(`model.conv_impl`: 'auto', the default, 'xla', 'gemm'; see jaxvision/models/conv_gemm.py), a
bare Flax step of the same model on the default settings, and PyTorch eager (torchvision's
model).

  python benchmarks/cpu_conv.py --model resnet50 --batch-size 16 --image-size 224 \
      --num-classes 1000 --steps 2 --rounds 2 --impls auto --ynn-column
  python benchmarks/cpu_conv.py --model resnet18 --batch-size 128 --image-size 32 \
      --num-classes 10 --steps 3 --rounds 4 [--impls auto,xla,gemm] [--no-bare] [--no-torch]

The jaxvision columns run exactly what `jaxvision bench` runs (its `compile_train_step`, the
Supervised objective, SGD with momentum 0.9, lr 0.1, the state donated) under the XLA flags
the `jaxvision` command starts JAX with (jaxvision/xla_cpu_flags.py); `--ynn-column` adds the
first of them under jaxlib's default, YNNPACK convolutions. The bare column is
benchmarks/bare_flax.py's step (`jax.jit(value_and_grad)`, optax.sgd, no mesh, no objective).
Each round runs every column in a fresh process of its own (compile, two warm-up steps, then
`steps` timed steps), the order rotated each round, so drift and a neighbour's load hit all
alike and no column shares a process with another (`--in-process`: the older interleaved
method in one process). Printed: the median step of each, images/s, and the ratios to
PyTorch and to the bare step (above 1 = faster than it). float32 only. Needs torch and
torchvision (the [interop] extra) for the PyTorch column; models torchvision lacks (lenet5,
resnet20, ...) get none.
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.process_setup import like_the_jaxvision_command  # noqa: E402

like_the_jaxvision_command()


def jaxvision_step(model_name, images, labels, num_classes, settings):
  import jax

  from jaxvision import models, objectives
  from jaxvision.train.optim import OptimizerSettings
  from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
  from jaxvision.train.optim import make_optimizer
  from jaxvision.train.state import create_state
  from jaxvision.train.step import compile_train_step

  model = models.get_model(model_name, num_classes=num_classes, **settings)
  mesh = make_mesh()
  tx, schedule = make_optimizer(OptimizerSettings(schedule="constant"), 10**6)
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


def bare_step(model_name, images, labels, num_classes, settings):
  import jax
  import jax.numpy as jnp
  import optax

  from benchmarks.bare_flax import bare_step_fn
  from jaxvision import models

  model = models.get_model(model_name, num_classes=num_classes, **settings)
  variables = dict(model.init(jax.random.key(0), jnp.zeros((2, *images.shape[1:])),
                              train=False))
  params = variables.pop("params")
  tx = optax.sgd(0.1, momentum=0.9)
  holder = [params, variables, tx.init(params)]
  fn = bare_step_fn(model, tx)
  x, y = jnp.asarray(images), jnp.asarray(labels)

  def run():
    out = fn(*holder, x, y)
    jax.block_until_ready(out)
    holder[:] = out[:3]
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


def interleave(steps: dict, n: int, rounds: int) -> dict:
  """Median seconds of each callable, after two warm-up calls each, in alternating rounds."""
  for fn in list(steps.values()) * 2:  # compile and warm up
    fn()
  times = {name: [] for name in steps}
  for _ in range(rounds):
    for name, fn in steps.items():
      for _ in range(n):
        start = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - start)
  return {k: statistics.median(v) for k, v in times.items()}


YNN_CONVS = "--xla_cpu_experimental_ynn_fusion_type=+individual_convolution"


def _columns(args, settings, images, labels) -> dict:
  """Column name -> a function that builds its step (built only in the process that times it)."""
  columns = {}
  for impl in args.impls.split(","):
    columns[f"jaxvision {impl}"] = functools.partial(
        jaxvision_step, args.model, images, labels, args.num_classes,
        {**settings, "conv_impl": impl})
  if args.ynn_column:  # jaxlib's default engine for the same step (run in its own process)
    columns["jaxvision ynn convs"] = columns[f"jaxvision {args.impls.split(',')[0]}"]
  if not args.no_bare:  # The bare step of the model as `jaxvision bench` builds it by default.
    columns["bare flax"] = functools.partial(bare_step, args.model, images, labels,
                                             args.num_classes, settings)
  if not args.no_torch:
    columns["torch eager"] = functools.partial(torch_step, args.model, images, labels,
                                               args.num_classes, args.threads)
  return columns


def _time_column(build, n: int):
  """Seconds of `n` steps after two warm-up steps; None if the column cannot be built (a
  model torchvision lacks, no torch)."""
  try:
    run = build()
  except (ImportError, KeyError) as e:
    print(f"  (no column: {e})", file=sys.stderr)
    return None
  run()
  run()  # compile and warm up
  times = []
  for _ in range(n):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
  return times


def in_processes(names, argv, steps: int, rounds: int, ynn_name: str) -> dict:
  """Median seconds per column, each round one fresh process per column, order rotated.

  Why processes: PyTorch in the same process slowed the JAX steps next to it by 15-25%
  (ResNet-50 at 224: jaxvision 7.6 s beside the bare step vs 8.7 s beside torch; BUILD_NOTES
  session 14), and a fresh process per round also samples the start-up state of each
  (allocator, thread pools) instead of one.
  """
  times = {name: [] for name in names}
  for r in range(rounds):
    for name in names[r % len(names):] + names[:r % len(names)]:
      env = dict(os.environ)
      if name == ynn_name:
        env["XLA_FLAGS"] = " ".join([f for f in env.get("XLA_FLAGS", "").split()
                                     if not f.startswith(YNN_CONVS.split("=")[0])] + [YNN_CONVS])
      out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--column", name,
                            "--steps", str(steps)], env=env, check=True,
                           stdout=subprocess.PIPE, text=True).stdout  # stderr: shown
      column = json.loads(out.strip().splitlines()[-1])
      if column is None:
        print(f"  (no {name} column: it could not be built)")
        names.remove(name)
        del times[name]
        continue
      times[name] += column
  return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
  import numpy as np

  from jaxvision.commands.bench import parse_model_settings

  argv = sys.argv[1:] if argv is None else argv
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", default="resnet18")
  p.add_argument("--batch-size", type=int, default=64)
  p.add_argument("--image-size", type=int, default=32)
  p.add_argument("--channels", type=int, default=3)
  p.add_argument("--num-classes", type=int, default=10)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--rounds", type=int, default=4)
  p.add_argument("--impls", default="auto,xla,gemm",
                 help="conv_impl values for jaxvision columns; the first is the default's")
  p.add_argument("--model-setting", action="append", default=[], metavar="NAME=VALUE")
  p.add_argument("--no-bare", action="store_true", help="no bare Flax column")
  p.add_argument("--no-torch", action="store_true", help="no PyTorch column")
  p.add_argument("--ynn-column", action="store_true",
                 help="add the first impl's step under jaxlib's default YNNPACK convolutions")
  p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
  p.add_argument("--in-process", action="store_true",
                 help="all columns in this process, interleaved (the pre-session-14 method)")
  p.add_argument("--column", default=None, help=argparse.SUPPRESS)  # a child: time one column
  args = p.parse_args(argv)
  settings = parse_model_settings(args.model_setting)
  rng = np.random.default_rng(0)
  images = rng.standard_normal(
      (args.batch_size, args.image_size, args.image_size, args.channels), np.float32)
  labels = rng.integers(0, args.num_classes, args.batch_size).astype(np.int32)
  columns = _columns(args, settings, images, labels)
  if args.column is not None:
    print(json.dumps(_time_column(columns[args.column], args.steps)))
    return 0
  if args.in_process:
    if args.ynn_column:
      p.error("--ynn-column needs a process of its own: drop --in-process")
    steps = {}
    for name, build in columns.items():
      try:
        steps[name] = build()
      except (ImportError, KeyError) as e:
        print(f"  (no {name} column: {e})")
    med = interleave(steps, args.steps, args.rounds)
  else:
    child_argv = [a for a in argv if a not in ("--in-process",)]
    med = in_processes(list(columns), child_argv, args.steps, args.rounds,
                       "jaxvision ynn convs")
  method = "one process per column and round" if not args.in_process else "one process"
  print(f"  {args.model} {settings or ''}, batch {args.batch_size}, "
        f"{args.image_size}x{args.image_size}x{args.channels}, float32, CPU, "
        f"{os.cpu_count()} cores, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; "
        f"median of {args.steps * args.rounds} steps, {method}")
  print(f"  {'step':<22}{'ms':>9}{'images/s':>10}{'vs torch':>10}{'vs bare':>9}")
  for name, t in med.items():
    vs_torch = f"{med['torch eager'] / t:.2f}" if "torch eager" in med else "-"
    vs_bare = f"{med['bare flax'] / t:.2f}" if "bare flax" in med else "-"
    print(f"  {name:<22}{t * 1e3:>9.1f}{args.batch_size / t:>10.1f}{vs_torch:>10}"
          f"{vs_bare:>9}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
