"""Linear probe and kNN of self-supervised encoders, their random initialisation and raw pixels.

  python experiments/ssl_probe.py --config configs/rotation_fashion_mnist.py --mode random
  python experiments/ssl_probe.py --config configs/rotation_fashion_mnist.py --mode trained \
      --workdir runs/rotation_fmnist
  python experiments/ssl_probe.py --config configs/simclr_fashion_mnist.py --mode pixels
  [--out results.jsonl] [--config.KEY=VALUE ...]

Every mode runs the same "representation" evaluator (jaxvision/evaluate/representation.py:
features of the full train and test splits, L-BFGS linear probe, weighted kNN) that
`jaxvision eval` runs on an SSL workdir:
- random: the config's model initialised exactly as `jaxvision train` initialises it (same
  seed and key split), never trained: the baseline each pre-training has to beat;
- trained: the latest checkpoint of --workdir (what `jaxvision eval` reports);
- pixels: the evaluation view's normalised pixels, flattened (no encoder at all).
Each result is printed and, with --out, appended as one JSON line with the mode, config and
wall time.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import jax  # noqa: E402

from jaxvision.config_loading import apply_overrides, load_config_file  # noqa: E402
from jaxvision.evaluate import representation  # noqa: E402
from jaxvision.commands.eval import evaluate_workdir  # noqa: E402
from jaxvision.train import experiment  # noqa: E402
from jaxvision.train.optim import make_optimizer  # noqa: E402

MODES = ("random", "trained", "pixels")


def fresh_variables(exp):
  """The variables `jaxvision train` starts from: same seed, same split of the key."""
  tx, _ = make_optimizer(exp.config, exp.total_steps)
  init_rng, _ = jax.random.split(jax.random.key(exp.config.seed))
  state = experiment.init_state(exp, tx, init_rng)
  return {"params": state.params, **state.model_state}


def probe(config, mode: str, workdir: str = "") -> dict:
  if mode == "trained":
    return evaluate_workdir(config, workdir)
  exp = experiment.build_experiment(config, workdir or "unused")
  if mode == "random":
    return representation.representation_eval(exp, fresh_variables(exp))
  return representation.representation_eval(exp, None, feature_fn=representation.raw_pixels)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--mode", choices=MODES, required=True)
  parser.add_argument("--workdir", default="", help="the pre-training run (mode trained)")
  parser.add_argument("--out", default="", help="append the result as a JSON line here")
  args, overrides = parser.parse_known_args(argv)
  if args.mode == "trained" and not args.workdir:
    parser.error("--mode trained needs --workdir")
  config = load_config_file(args.config)
  apply_overrides(config, overrides)
  start = time.time()
  metrics = probe(config, args.mode, args.workdir)
  record = {"mode": args.mode, "config": args.config, "overrides": overrides,
            "workdir": args.workdir, "wall_s": round(time.time() - start, 1), **metrics}
  print(json.dumps(record), flush=True)
  if args.out:
    with open(args.out, "a") as f:
      f.write(json.dumps(record) + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
