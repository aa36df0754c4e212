"""Is the input pipeline the bottleneck? A config's training stream, its step, and the two
together as the loop runs them, side by side in one process.

  python benchmarks/stream_vs_step.py --config configs/lenet5_fashion_mnist.py \
      [--devices 1] [--rounds 5] [--block 40] [--config.KEY=VALUE ...]

Builds what `jaxvision train` builds (benchmarks/loop_parts.py) and times, in blocks of
`--block` steps that alternate (order rotated each round, so the machine's noise hits all
three):
- stream: host batches pulled from the first phase's stream alone (read, decode, augment,
  batch; what tf.data can deliver with the cores to itself);
- step: the compiled train step on one batch already on the devices (what the step alone
  can take);
- loop: the loop's inner step (device prefetch two deep over the stream, then the step).
Prints images/s of each and loop/step: 1.00 means the pipeline costs the loop nothing; on a
laptop the stream and the step share the same cores, so `stream` alone faster than `step` is
necessary but not sufficient.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.process_setup import like_the_jaxvision_command  # noqa: E402

like_the_jaxvision_command()


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--config", default="configs/lenet5_fashion_mnist.py")
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--block", type=int, default=40)
  parser.add_argument("--devices", type=int, default=1, help="simulated CPU devices")
  args, overrides = parser.parse_known_args()
  import jax

  if os.environ.get("JAX_PLATFORMS", "cpu") == "cpu":
    jax.config.update("jax_num_cpu_devices", args.devices)
  from benchmarks.loop_parts import build
  from jaxvision.parallel import global_batch, prefetch_to_mesh

  steps = 2 + 3 * args.rounds * args.block
  parts = build(args.config, overrides, steps)
  mesh, step_fn, batch_size = parts.exp.mesh, parts.train_step, parts.config.batch_size
  alone = parts.stream()  # the stream alone; the loop's own stream starts at the same step
  fixed = global_batch(next(alone), mesh)
  loop_batches = prefetch_to_mesh(parts.stream(), mesh)
  states = {"step": parts.init_state(), "loop": parts.init_state()}
  for name, batch in (("step", fixed), ("loop", next(loop_batches))):  # compile, fill buffers
    states[name], _ = step_fn(states[name], batch)
    jax.block_until_ready(states[name])

  def block(name):
    start = time.perf_counter()
    if name == "stream":
      for _ in range(args.block):
        next(alone)
    else:
      state = states[name]
      for _ in range(args.block):
        state, metrics = step_fn(state, fixed if name == "step" else next(loop_batches))
      jax.block_until_ready((state, metrics))
      states[name] = state
    return args.block * batch_size / (time.perf_counter() - start)

  names = ["stream", "step", "loop"]
  rates = {n: [] for n in names}
  for r in range(args.rounds):
    for name in names[r % 3:] + names[:r % 3]:
      rates[name].append(block(name))
  median = {n: statistics.median(v) for n, v in rates.items()}
  print(f"{args.config} {' '.join(overrides)} batch {batch_size} on {mesh.size} "
        f"{jax.default_backend()} device(s), {args.rounds} rounds x {args.block} steps")
  print("| stream img/s | step img/s | loop img/s | stream/step | loop/step |")
  print("|---|---|---|---|---|")
  print(f"| {median['stream']:.0f} | {median['step']:.0f} | {median['loop']:.0f} | "
        f"{median['stream'] / median['step']:.2f} | {median['loop'] / median['step']:.2f} |")
  print("per-round loop/step:", " ".join(f"{a / b:.2f}" for a, b in
                                         zip(rates["loop"], rates["step"])))


if __name__ == "__main__":
  main()
