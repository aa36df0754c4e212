"""jaxvision's train step against the barest Flax step of the same model, interleaved.

  python benchmarks/bare_flax.py --model resnet18 --batch-size 64 --image-size 32 \
      --num-classes 10 --dtype float32 --steps 10 --rounds 5

The bare step is what a Flax tutorial writes: `jax.jit(value_and_grad)` of softmax
cross-entropy plus `optax.sgd(0.1, momentum=0.9)`, batch-norm statistics as a mutable
collection, the state donated; no mesh, no shardings, no objective, no RNG, no metrics other
than the loss. Both steps are compiled first, then run in alternating rounds of `steps` steps
(each synchronised), so a neighbour's load on a shared machine hits both alike. Printed: the
median step (wall and process CPU time) of each and the ratio jaxvision / bare of the wall
times (1.0 = no overhead).
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.process_setup import like_the_jaxvision_command  # noqa: E402

like_the_jaxvision_command()


def bare_step_fn(model, tx):
  import jax
  import optax

  def step(params, model_state, opt_state, images, labels):
    def loss_fn(p):
      logits, new_state = model.apply({"params": p, **model_state}, images, train=True,
                                      mutable=list(model_state))
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
      return loss, new_state
    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_state, opt_state, loss

  return jax.jit(step, donate_argnums=(0, 1, 2))


def compare(model_name, batch_size, image_size, dtype, steps, rounds, num_classes):
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax

  from jaxvision import models, objectives
  from jaxvision.train.optim import OptimizerSettings
  from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
  from jaxvision.train.optim import make_optimizer
  from jaxvision.train.state import create_state
  from jaxvision.train.step import compile_train_step

  dt = {"bfloat16": jnp.bfloat16, "float32": jnp.float32}[dtype]
  model = models.get_model(model_name, num_classes=num_classes, dtype=dt)
  shape = (image_size, image_size, 3)
  rng = np.random.default_rng(0)
  images = rng.standard_normal((batch_size, *shape), np.float32)
  labels = rng.integers(0, num_classes, batch_size).astype(np.int32)

  # jaxvision: exactly what `jaxvision bench` runs.
  mesh = make_mesh()
  tx, schedule = make_optimizer(OptimizerSettings(schedule="constant"), 10**6)
  state = jax.jit(lambda r: create_state(model, tx, r, shape),
                  out_shardings=replicated_sharding(mesh))(jax.random.key(0))
  jv_step = compile_train_step(mesh, loss_fn=objectives.Supervised(model=model).loss_fn,
                               tx=tx, schedule=schedule, base_rng=jax.random.key(1))
  batch = global_batch({"image": images, "label": labels}, mesh)

  # Bare Flax.
  bare_tx = optax.sgd(0.1, momentum=0.9)
  variables = dict(model.init(jax.random.key(0), jnp.zeros((2, *shape)), train=False))
  params = variables.pop("params")
  bare = [params, variables, bare_tx.init(params)]
  bare_fn = bare_step_fn(model, bare_tx)
  x, y = jnp.asarray(images), jnp.asarray(labels)

  def run_jaxvision():
    nonlocal state
    state, metrics = jv_step(state, batch)
    jax.block_until_ready((state, metrics))

  def run_bare():
    out = bare_fn(*bare, x, y)
    jax.block_until_ready(out)
    bare[:] = out[:3]

  for fn in (run_jaxvision, run_bare, run_jaxvision, run_bare):  # compile + warm up
    fn()
  times = {"jaxvision": [], "bare": []}
  cpu = {"jaxvision": [], "bare": []}
  for _ in range(rounds):
    for name, fn in (("jaxvision", run_jaxvision), ("bare", run_bare)):
      for _ in range(steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times[name].append(time.perf_counter() - start)
        cpu[name].append(time.process_time() - start_cpu)
  med = {k: statistics.median(v) for k, v in times.items()}
  med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
  return {"model": model_name, "batch_size": batch_size, "image_size": image_size,
          "dtype": dtype, "device": jax.devices()[0].device_kind,
          "num_devices": len(jax.devices()), "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "jaxvision_ms": med["jaxvision"] * 1e3, "bare_ms": med["bare"] * 1e3,
          # CPU seconds of all the process's threads: a neighbour's load inflates the wall
          # time much more than this.
          "jaxvision_cpu_ms": med_cpu["jaxvision"] * 1e3, "bare_cpu_ms": med_cpu["bare"] * 1e3,
          "jaxvision_images_per_s": batch_size / med["jaxvision"],
          "bare_images_per_s": batch_size / med["bare"],
          "ratio": med["jaxvision"] / med["bare"], "samples": steps * rounds}


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", default="resnet18")
  p.add_argument("--batch-size", type=int, default=64)
  p.add_argument("--image-size", type=int, default=32)
  p.add_argument("--dtype", choices=("bfloat16", "float32"), default="float32")
  p.add_argument("--num-classes", type=int, default=10)
  p.add_argument("--steps", type=int, default=10, help="steps per round and per step kind")
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--json", action="store_true")
  args = p.parse_args(argv)
  r = compare(args.model, args.batch_size, args.image_size, args.dtype, args.steps,
              args.rounds, args.num_classes)
  if args.json:
    print(json.dumps(r, sort_keys=True))
    return 0
  print(f"  {r['model']}, batch {r['batch_size']}, {r['image_size']}x{r['image_size']}, "
        f"{r['dtype']}, {r['num_devices']} x {r['device']}, XLA_FLAGS={r['xla_flags']!r}")
  print(f"  {'step':<10}{'median ms':>11}{'images/s':>11}{'CPU ms':>9}")
  for name in ("jaxvision", "bare"):
    print(f"  {name:<10}{r[name + '_ms']:>11.2f}{r[name + '_images_per_s']:>11.1f}"
          f"{r[name + '_cpu_ms']:>9.1f}")
  print(f"  jaxvision / bare step time: {r['ratio']:.3f} (median of {r['samples']} each)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
