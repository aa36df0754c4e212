"""The semi-supervised comparison of issue #7: supervised-only, MixMatch and Tri-Net on the same
400 labeled Fashion-MNIST images (40 per class, split_seed 0), tested on all 10,000 test images.

  python experiments/semi_compare.py [--runs /tmp/semi_runs] [--only sup,mixmatch,trinet]
      [--out results/semi_compare.json] [--config.KEY=VALUE applies to every run]

Each run is the repository's config through the one train loop (Tri-Net through its round
driver, which calls the loop once per round) in its own workdir under --runs, outside the
repository, so a rerun resumes or skips finished runs. The wall time (this process, including
compilation and evaluations) and the final test metrics go to --out as JSON and are printed
as a Markdown table with the floors of the issue (MixMatch >= baseline + 5 points, Tri-Net >=
baseline + 3 points).
"""

import argparse
import json
import os
import sys
import time

from jaxvision.config_loading import apply_overrides, load_config_file
from jaxvision.train import loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = {
    "sup": ("configs/supervised400_fashion_mnist.py", loop.train_and_evaluate),
    "mixmatch": ("configs/mixmatch_fashion_mnist.py", loop.train_and_evaluate),
    "trinet": ("configs/trinet_fashion_mnist.py", loop.train_and_evaluate),
}
FLOORS = {"mixmatch": 0.05, "trinet": 0.03}


def run_one(name, runs_dir, overrides):
  path, fn = RUNS[name]
  config = load_config_file(os.path.join(REPO, path))
  apply_overrides(config, overrides)
  workdir = os.path.join(runs_dir, name)
  with config.unlocked():
    config.semi.audit_dir = workdir
  start = time.time()
  metrics = fn(config, workdir)
  return {"config": path, "workdir": workdir, "wall_seconds": round(time.time() - start, 1),
          "accuracy": float(metrics["accuracy"]), "num_examples": int(metrics["num_examples"]),
          "steps": int(config.num_train_steps) if name != "trinet" else (
              config.trinet.init_steps + config.trinet.rounds * config.trinet.steps_per_round)}


def table(results):
  lines = ["| method | config | steps | test accuracy (10,000) | vs baseline | floor | wall |",
           "|---|---|---|---|---|---|---|"]
  base = results.get("sup", {}).get("accuracy")
  for name in ("sup", "mixmatch", "trinet"):
    r = results.get(name)
    if not r:
      continue
    gap = f"{100 * (r['accuracy'] - base):+.2f} pts" if base is not None and name != "sup" else ""
    floor = f">= +{100 * FLOORS[name]:.0f} pts: {'met' if base is not None and r['accuracy'] - base >= FLOORS[name] else 'MISSED'}" if name in FLOORS else "reported"
    lines.append(f"| {name} | `{r['config']}` | {r['steps']} | {r['accuracy']:.4f} | {gap} | "
                 f"{floor} | {r['wall_seconds'] / 60:.1f} min |")
  return "\n".join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser()
  parser.add_argument("--runs", default="/tmp/semi_runs")
  parser.add_argument("--only", default="sup,mixmatch,trinet")
  parser.add_argument("--out", default=os.path.join(REPO, "results", "semi_compare.json"))
  args, overrides = parser.parse_known_args(argv)
  results = {}
  if os.path.isfile(args.out):
    with open(args.out) as f:
      results = json.load(f)
  for name in args.only.split(","):
    results[name] = run_one(name, args.runs, overrides)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
      json.dump(results, f, indent=2)
    print(table(results), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
