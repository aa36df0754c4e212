"""Seconds to a test accuracy: `jaxvision train` with a config against a bare Flax loop of the
same model and optimiser, one after the other in one run (each in a fresh child process).

  python benchmarks/time_to_accuracy.py [--config configs/lenet5_fashion_mnist.py] \
      [--targets 0.89,0.90] [--split test|validation] [--order jaxvision,bare] \
      [--set KEY=VALUE ...]

Both arms are timed from the launch of their process (Python and JAX start-up, data loading
and compilation included) to the moment each evaluation is known: jaxvision's test records
as they appear in WORKDIR/metrics.jsonl (the config's evaluation is made every epoch), the
bare loop's per-epoch line on its stdout. Evaluation time counts in both. Also printed: the
CPU seconds each child used over its whole run (user + system, all threads), which a
neighbour's load on a shared machine inflates far less than the wall time.

The bare loop (`--bare`, below, a few dozen lines) is what one writes by hand: the arrays in
memory, 28x28 zero-padded to 32x32 and normalised with the config's mean/std, a fresh numpy
permutation each epoch, batches of the config's size (the last partial one dropped), the same
jaxvision model class (`models.get_model`, default settings) and optax optimiser (Adam or
SGD, cosine decay over the run, the config's learning rate), `jax.jit(value_and_grad)`,
no augmentation, no mesh, no checkpoints, no logging.

`--split validation` holds out the last 5,000 training images as the evaluation set (both arms
train on the first 55,000): the split a recipe is chosen on. `--split test` is the report.
Fashion-MNIST only (the IDX files of `data.dir`, default /usr/share/datasets/fashion-mnist).
"""

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
HOLDOUT = 5000


def read_idx(directory, stem):
  import numpy as np

  path = os.path.join(directory, stem)
  opener, path = (open, path) if os.path.exists(path) else (gzip.open, path + ".gz")
  with opener(path, "rb") as f:
    data = f.read()
  dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
  return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def write_idx(path, array):
  with open(path, "wb") as f:
    f.write(bytes([0, 0, 8, array.ndim]))
    f.write(b"".join(int(d).to_bytes(4, "big") for d in array.shape))
    f.write(array.tobytes())


def validation_folder(source: str, out: str) -> str:
  """IDX files of train[:55000] as 'train' and train[55000:] as 't10k' (the eval split)."""
  images, labels = (read_idx(source, stem) for stem in FILES["train"])
  cut = len(images) - HOLDOUT
  for (img_stem, lbl_stem), sl in ((FILES["train"], slice(0, cut)),
                                   (FILES["test"], slice(cut, None))):
    write_idx(os.path.join(out, img_stem), images[sl])
    write_idx(os.path.join(out, lbl_stem), labels[sl])
  return out


def bare(data_dir, model_name, batch_size, epochs, optimizer, lr, mean, std, seed):
  """The bare loop; prints one JSON line per epoch: {"epoch", "accuracy"}."""
  from benchmarks.process_setup import like_the_jaxvision_command

  like_the_jaxvision_command()  # what the jaxvision arm's command starts with
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax

  from jaxvision import models

  def load(split):
    x, y = (read_idx(data_dir, stem) for stem in FILES[split])
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None].astype(np.float32) / 255.0
    return (x - mean) / std, y.astype(np.int32)

  (x_train, y_train), (x_test, y_test) = load("train"), load("test")
  model = models.get_model(model_name, num_classes=10)
  params = model.init(jax.random.key(seed), jnp.zeros((1, 32, 32, 1)))["params"]
  steps_per_epoch = len(x_train) // batch_size
  schedule = optax.cosine_decay_schedule(lr, epochs * steps_per_epoch)
  tx = optax.adam(schedule) if optimizer == "adam" else optax.sgd(schedule, momentum=0.9)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, opt_state, x, y):
    def loss_fn(p):
      logits = model.apply({"params": p}, x, train=True)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  @jax.jit
  def correct(params, x, y):
    return jnp.sum(jnp.argmax(model.apply({"params": params}, x), -1) == y)

  rng = np.random.default_rng(seed)
  for epoch in range(1, epochs + 1):
    order = rng.permutation(len(x_train))
    for i in range(steps_per_epoch):
      idx = order[i * batch_size:(i + 1) * batch_size]
      params, opt_state = train_step(params, opt_state, x_train[idx], y_train[idx])
    hits = sum(int(correct(params, x_test[i:i + 1000], y_test[i:i + 1000]))
               for i in range(0, len(x_test), 1000))
    print(json.dumps({"epoch": epoch, "accuracy": hits / len(x_test)}), flush=True)


def run_jaxvision(config, data_dir, workdir, overrides):
  """(seconds, accuracy) of each test record of a `jaxvision train` child."""
  cmd = [sys.executable, "-m", "jaxvision.cli", "train", "--config", config, "--workdir",
         workdir, f"--config.data.dir={data_dir}", *[f"--config.{o}" for o in overrides]]
  metrics, seen, records = os.path.join(workdir, "metrics.jsonl"), 0, []
  start = time.perf_counter()
  proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
  tail = []
  threading.Thread(target=lambda: tail.extend(proc.stdout), daemon=True).start()
  while True:  # poll the log: a record's time is when it is written
    done = proc.poll() is not None
    if os.path.exists(metrics):
      with open(metrics) as f:
        lines = f.readlines()
      for line in lines[seen:]:
        if line.endswith("\n"):
          r = json.loads(line)
          seen += 1
          if r["split"] == "test":
            records.append((time.perf_counter() - start, r["accuracy"]))
    if done:
      break
    time.sleep(0.1)
  if proc.returncode:
    raise SystemExit(f"jaxvision train failed ({proc.returncode}):\n{''.join(tail[-20:])}")
  return records


def run_bare(data_dir, cfg, epochs, seed):
  args = [sys.executable, os.path.abspath(__file__), "--bare", "--data-dir", data_dir,
          "--model", cfg["model"], "--batch-size", str(cfg["batch_size"]),
          "--epochs", str(epochs), "--optimizer", cfg["optimizer"], "--lr", str(cfg["lr"]),
          "--mean", str(cfg["mean"]), "--std", str(cfg["std"]), "--seed", str(seed)]
  start, records = time.perf_counter(), []
  proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": REPO})
  for line in proc.stdout:
    if line.startswith("{"):
      records.append((time.perf_counter() - start, json.loads(line)["accuracy"]))
  if proc.wait():
    raise SystemExit(f"the bare loop failed ({proc.returncode})")
  return records


def first_reaching(records, target):
  return next((t for t, acc in records if acc >= target), None)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--config", default="configs/lenet5_fashion_mnist.py")
  p.add_argument("--targets", default="0.89,0.90")
  p.add_argument("--split", choices=("test", "validation"), default="test")
  p.add_argument("--order", default="jaxvision,bare", help="arms, in the order they run")
  p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                 help="a config override for jaxvision (the bare loop reads the result)")
  p.add_argument("--data-dir", default=FASHION)
  p.add_argument("--workdir", default=None, help="jaxvision's workdir (default: a temp dir)")
  # The bare child's arguments.
  p.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
  for name, kind in (("model", str), ("batch-size", int), ("epochs", int), ("optimizer", str),
                     ("lr", float), ("mean", float), ("std", float), ("seed", int)):
    p.add_argument(f"--{name}", type=kind, help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.bare:
    bare(args.data_dir, args.model, args.batch_size, args.epochs, args.optimizer, args.lr,
         args.mean, args.std, args.seed)
    return 0

  sys.path.insert(0, REPO)
  from jaxvision.config_loading import apply_overrides, load_config_file  # noqa: E402

  config = load_config_file(os.path.join(REPO, args.config))
  apply_overrides(config, [f"--config.{s}" for s in args.set])
  epochs = int(config.num_epochs)
  cfg = {"model": config.model.name, "batch_size": config.batch_size,
         "optimizer": config.optimizer, "lr": config.learning_rate,
         "mean": config.data.mean[0], "std": config.data.std[0]}
  targets = [float(t) for t in args.targets.split(",")]
  with tempfile.TemporaryDirectory() as tmp:
    data_dir = (validation_folder(args.data_dir, tmp) if args.split == "validation"
                else args.data_dir)
    results, cpu = {}, {}
    for arm in args.order.split(","):
      before = resource.getrusage(resource.RUSAGE_CHILDREN)
      if arm == "jaxvision":
        workdir = args.workdir or os.path.join(tmp, "jaxvision")
        results[arm] = run_jaxvision(args.config, data_dir, workdir, args.set)
      else:
        results[arm] = run_bare(data_dir, cfg, epochs, config.seed)
      after = resource.getrusage(resource.RUSAGE_CHILDREN)
      cpu[arm] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
      print(f"  {arm}: " + ", ".join(f"{t:.0f}s {a:.4f}" for t, a in results[arm]), flush=True)
  print(f"  {args.config} {args.set or ''}, {args.split} split, {epochs} epochs, "
        f"{os.cpu_count()} cores")
  print(f"  {'arm':<11}" + "".join(f"{'s to ' + str(t):>11}" for t in targets) +
        f"{'final':>9}{'best':>8}{'evals':>7}{'CPU s':>8}")
  for arm, recs in results.items():
    cells = "".join(f"{first_reaching(recs, t) or float('nan'):>11.1f}" for t in targets)
    print(f"  {arm:<11}{cells}{recs[-1][1]:>9.4f}{max(a for _, a in recs):>8.4f}"
          f"{len(recs):>7}{cpu[arm]:>8.0f}")
  if {"jaxvision", "bare"} <= set(results):
    for t in targets:
      a, b = first_reaching(results["jaxvision"], t), first_reaching(results["bare"], t)
      ratio = f"{a / b:.2f}" if a and b else "n/a (not reached by both)"
      print(f"  jaxvision / bare, seconds to {t}: {ratio}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
