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
  from jaxvision.config_loading import load_config_file
  from jaxvision.data import streams
  from jaxvision.parallel import global_batch, prefetch_to_mesh
  from jaxvision.train import experiment
  from jaxvision.train.optim import make_optimizer
  from jaxvision.train.step import compile_train_step

  config = load_config_file(args.config)
  for item in rest + args.overrides:  # --config.batch_size=64 style, as the CLI takes them
    key, value = item[len("--config."):].split("=", 1)
    node = config
    *parents, last = key.split(".")
    for p in parents:
      node = node[p]
    node[last] = type(node[last])(value)
  total = 1 + 2 * args.rounds * args.block
  with config.unlocked():
    config.num_train_steps = total
  exp = experiment.build_experiment(config, "/tmp/unused")
  tx, schedule = make_optimizer(config, exp.total_steps)
  init_rng, step_rng = jax.random.split(jax.random.key(config.seed))
  train_step = compile_train_step(exp.mesh, loss_fn=exp.objective.loss_fn, tx=tx,
                                  schedule=schedule, base_rng=step_rng,
                                  grad_accum_steps=config.get("grad_accum_steps", 1),
                                  ema_decay=config.get("ema_decay", 0.0),
                                  skip_nonfinite=config.skip_nonfinite)

  def stream():  # the first phase's stream, as the loop builds it
    phase = exp.phases[0]
    return streams.get_stream(phase.stream)(
        exp.source, config, local_batch=config.batch_size, seed=config.seed, start_step=0,
        process_index=0, process_count=1, **dict(phase.stream_args))

  plain_stream = stream()
  runs = {"plain": [experiment.init_state(exp, tx, init_rng),
                    lambda: global_batch(next(plain_stream), exp.mesh), []],
          "prefetch": [experiment.init_state(exp, tx, init_rng),
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
