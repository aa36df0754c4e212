"""Step time with and without device prefetch (jaxvision/parallel/prefetch.py), same process.

Builds what `jaxvision train` builds for a config (its real input stream, the compiled train
step over every device) and runs two copies of the loop's inner step side by side: `plain`
(the loop before prefetch: global_batch(next(stream)) then the step) and `prefetch` (two
batches on the devices ahead). Each keeps its own stream and state across blocks of
`--block` steps, dispatched as the loop does (no sync per step; one block_until_ready at the
block's end); the blocks alternate plain/prefetch (order flipped each round) so machine
noise hits both. Prints the median ms per step of each and the ratio prefetch/plain.

  python benchmarks/device_prefetch.py --config configs/lenet5_digits.py --rounds 8 --block 25
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
  parser.add_argument("--config", default="configs/lenet5_digits.py")
  parser.add_argument("--rounds", type=int, default=8)
  parser.add_argument("--block", type=int, default=25)
  parser.add_argument("--devices", type=int, default=8, help="simulated CPU devices")
  parser.add_argument("overrides", nargs="*", help="--config.KEY=VALUE")
  args, rest = parser.parse_known_args()
  import jax

  if os.environ.get("JAX_PLATFORMS", "cpu") == "cpu":
    jax.config.update("jax_num_cpu_devices", args.devices)
  from benchmarks.loop_parts import build
  from jaxvision.parallel import global_batch, prefetch_to_mesh

  parts = build(args.config, rest + args.overrides, 1 + 2 * args.rounds * args.block)
  config, exp, train_step, stream = parts.config, parts.exp, parts.train_step, parts.stream

  plain_stream = stream()
  runs = {"plain": [parts.init_state(),
                    lambda: global_batch(next(plain_stream), exp.mesh), []],
          "prefetch": [parts.init_state(),
                       prefetch_to_mesh(stream(), exp.mesh).__next__, []]}
  for run in runs.values():  # compile, and fill the streams' own read-ahead
    run[0], _ = train_step(run[0], run[1]())
    jax.block_until_ready(run[0])
  for r in range(args.rounds):
    for name in (("plain", "prefetch") if r % 2 == 0 else ("prefetch", "plain")):
      run = runs[name]
      start = time.perf_counter()
      for _ in range(args.block):
        run[0], metrics = train_step(run[0], run[1]())
      jax.block_until_ready((run[0], metrics))
      run[2].append((time.perf_counter() - start) / args.block * 1e3)
  plain, pre = (statistics.median(runs[n][2]) for n in ("plain", "prefetch"))
  print(f"{args.config} batch {config.batch_size} on {exp.mesh.size} {jax.default_backend()} "
        f"device(s), {args.rounds} rounds x {args.block} steps each")
  print(f"median ms/step: plain {plain:.3f}  prefetch {pre:.3f}  ratio prefetch/plain "
        f"{pre / plain:.3f}")
  print("per-block ratios:", " ".join(f"{b / a:.2f}" for a, b in
                                       zip(runs["plain"][2], runs["prefetch"][2])))


if __name__ == "__main__":
  main()
