"""Two more seed claims on Fashion-MNIST with the papers' own networks (issue #25).

  python experiments/paper_claims.py --out results/paper_claims [--steps-scale X]
      [--only alexnet,degradation_imagenet] [--runs /tmp/seed_claims_runs]

1. alexnet (Krizhevsky et al. 2012, sec. 3.3 and 4.2): in alexnet_2012, local response
   normalisation lowers the error ("by 1.4% and 1.2%", top-1/top-5) and dropout curbs
   overfitting ("without dropout, our network exhibits substantial overfitting"). Four runs
   of a narrowed alexnet_2012 (LRN, grouped towers, init as published): the paper's, without
   LRN, without dropout, without either, on the first 2,000 training images upsampled to
   99x99 (pool5 2x2).
2. degradation_imagenet (He et al. 2016, Table 2): the ImageNet-shaped plain-34 ends at a
   higher training loss than plain-18, while ResNet-34 reaches at or below ResNet-18; widths
   (16, 32, 64, 128), 32x32 zero-padded images, the full training split.

No test images are used: the last 10,000 training images are held out as the validation set
every run is scored on (and the alexnet runs train on the first 2,000 of the rest). The
recipe is seed_claims.py's (Adam 2e-3, cosine, crop + flip) fixed before any run: nothing
was chosen on these numbers. Runs, resume and plotting are seed_claims.py's.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_claims as sc  # noqa: E402

CLAIMS = ("alexnet", "degradation_imagenet")
VAL_IMAGES = 10_000
ALEX_TRAIN, ALEX_STEPS, ALEX_BATCH, ALEX_SIZE = 2000, 240, 64, 99
ALEX_MODEL = dict(widths=(32, 64, 96, 96, 64), hidden=256, pool5=2)
DEG_STEPS, DEG_BATCH, DEG_WIDTHS = 360, 32, (16, 32, 64, 128)


def validation_dir(runs_dir: str, n_train: int | None) -> str:
  """IDX folder: train = the first n_train (None: all) of the first 50,000 training images;
  its 'test' split = the last 10,000 training images. The real test split is not read."""
  name = f"fashion_mnist_train{n_train or 'all'}_val{VAL_IMAGES}"
  out = os.path.join(runs_dir, "data", name)
  os.makedirs(out, exist_ok=True)
  images = sc.read_idx(os.path.join(sc.FMNIST, "train-images-idx3-ubyte.gz"))
  labels = sc.read_idx(os.path.join(sc.FMNIST, "train-labels-idx1-ubyte.gz"))
  keep = n_train or len(images) - VAL_IMAGES
  for stem, array in (("train-images-idx3-ubyte", images[:keep]),
                      ("train-labels-idx1-ubyte", labels[:keep]),
                      ("t10k-images-idx3-ubyte", images[-VAL_IMAGES:]),
                      ("t10k-labels-idx1-ubyte", labels[-VAL_IMAGES:])):
    if not os.path.exists(os.path.join(out, stem)):
      sc.write_idx(os.path.join(out, stem), array)
  return out


def plot(path, title, results, colors, dashed=()):
  """seed_claims' curves; the legend gives the validation accuracy (no test images here)."""
  styles = {r["name"]: dict(color=colors[k], ls="--" if k in dashed else "-")
            for k, r in results.items()}
  sc.plot_curves(path, title, list(results.values()), styles,
                 {r["name"]: k for k, r in results.items()}, acc_label="val acc", note=None)


def claim_alexnet(runs_dir, out_dir, scale):
  steps = max(sc.LOG_EVERY, int(round(ALEX_STEPS * scale)))
  data_dir = validation_dir(runs_dir, ALEX_TRAIN)
  settings = {"paper": dict(lrn=True, dropout_rate=0.5),
              "no_lrn": dict(lrn=False, dropout_rate=0.5),
              "no_dropout": dict(lrn=True, dropout_rate=0.0),
              "neither": dict(lrn=False, dropout_rate=0.0)}
  r = {}
  for label, kw in settings.items():
    config = sc.make_config("alexnet_2012", steps, ALEX_BATCH, data_dir=data_dir,
                            **ALEX_MODEL, **kw)
    config.data.image_size, config.data.resize = ALEX_SIZE, "bilinear"
    name = f"alexnet2012-{label}_n{ALEX_TRAIN}_b{ALEX_BATCH}_s{steps}_val"
    r[label] = sc.run(runs_dir, name, config, clean_train_eval=True)
  plot(os.path.join(out_dir, "alexnet.png"),
       "AlexNet-2012 (narrow): as published, without LRN, without dropout, without either",
       r, {"paper": "k", "no_lrn": "tab:red", "no_dropout": "tab:blue", "neither": "tab:green"})
  table = ["| setting | train acc (clean) | val acc | gap | final train loss | wall s |",
           "|---|---|---|---|---|---|"]
  gap = {}
  for k, v in r.items():
    gap[k] = v.get("train_acc", np.nan) - v["test_acc"]
    table.append(f"| {k} | {sc.fmt(v.get('train_acc', np.nan))} | {sc.fmt(v['test_acc'])} | "
                 f"{sc.fmt(gap[k])} | {sc.fmt(v['train_loss'])} | {sc.fmt(v['wall_s'], 0)} |")
  # each factor on and off with the other factor held on and held off
  acc = {k: v["test_acc"] for k, v in r.items()}
  lrn = acc["paper"] > acc["no_lrn"] and acc["no_dropout"] > acc["neither"]
  dropout = gap["no_dropout"] > gap["paper"] and gap["neither"] > gap["no_lrn"]
  verdict = (f"LRN raises validation accuracy: **{lrn}** (with dropout {sc.fmt(acc['paper'])} vs "
             f"{sc.fmt(acc['no_lrn'])} without LRN; without dropout {sc.fmt(acc['no_dropout'])} "
             f"vs {sc.fmt(acc['neither'])}); dropout narrows the train-val gap: **{dropout}** "
             f"(with LRN {sc.fmt(gap['paper'])} vs {sc.fmt(gap['no_dropout'])} without dropout; "
             f"without LRN {sc.fmt(gap['no_lrn'])} vs {sc.fmt(gap['neither'])}). One seed each: "
             "a difference under about 0.01 is within noise.")
  return "alexnet.png", table, verdict, r


def claim_degradation_imagenet(runs_dir, out_dir, scale):
  steps = max(sc.LOG_EVERY, int(round(DEG_STEPS * scale)))
  data_dir = validation_dir(runs_dir, None)
  r = {}
  for model in ("plain18", "plain34", "resnet18", "resnet34"):
    config = sc.make_config(model, steps, DEG_BATCH, data_dir=data_dir, widths=DEG_WIDTHS)
    r[model] = sc.run(runs_dir, f"{model}-w16_b{DEG_BATCH}_s{steps}_val", config)
  plot(os.path.join(out_dir, "degradation_imagenet.png"),
       "ImageNet-shaped plain (dashed) vs residual (solid), 18 vs 34 layers", r,
       {"plain18": "tab:blue", "plain34": "tab:red", "resnet18": "tab:blue",
        "resnet34": "tab:red"}, dashed=("plain18", "plain34"))
  table = ["| model | final train loss | val acc | wall s |", "|---|---|---|---|"]
  table += [f"| {k} | {sc.fmt(v['train_loss'])} | {sc.fmt(v['test_acc'])} | "
            f"{sc.fmt(v['wall_s'], 0)} |" for k, v in r.items()]
  plain = r["plain34"]["train_loss"] > r["plain18"]["train_loss"]
  res = r["resnet34"]["train_loss"] <= r["resnet18"]["train_loss"]
  verdict = (f"plain34 > plain18 in training loss: **{plain}** "
             f"({sc.fmt(r['plain34']['train_loss'])} vs {sc.fmt(r['plain18']['train_loss'])}); "
             f"resnet34 <= resnet18: **{res}** ({sc.fmt(r['resnet34']['train_loss'])} vs "
             f"{sc.fmt(r['resnet18']['train_loss'])}). Claim held: **{plain and res}**.")
  return "degradation_imagenet.png", table, verdict, r


RUNNERS = {"alexnet": claim_alexnet, "degradation_imagenet": claim_degradation_imagenet}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", default="results/paper_claims")
  parser.add_argument("--runs", default="/tmp/seed_claims_runs")
  parser.add_argument("--steps-scale", type=float, default=1.0)
  parser.add_argument("--only", default="", help="comma-separated: " + ",".join(CLAIMS))
  args = parser.parse_args()
  claims = [c for c in args.only.split(",") if c] or list(CLAIMS)
  if set(claims) - set(CLAIMS):
    parser.error(f"unknown claim(s); choose from {', '.join(CLAIMS)}")
  os.makedirs(args.runs, exist_ok=True)
  os.makedirs(args.out, exist_ok=True)
  start, lines = time.time(), ["# Paper claims on Fashion-MNIST (validation split)", "",
                               f"Command: `python experiments/paper_claims.py --out {args.out} "
                               f"--steps-scale {args.steps_scale}`", "", __doc__, ""]
  run_wall = 0.0
  for claim in claims:
    png, table, verdict, r = RUNNERS[claim](args.runs, args.out, args.steps_scale)
    run_wall += sum(v["wall_s"] for v in r.values())
    print(f"=== {claim}: {verdict}", flush=True)
    with open(os.path.join(args.out, f"{claim}.json"), "w") as f:
      json.dump({k: {kk: vv for kk, vv in v.items() if not kk.startswith("curve")}
                 for k, v in r.items()}, f, indent=1, default=str)
    lines += [f"## {claim}", "", f"![{claim}]({png})", ""] + table + ["", verdict, ""]
  lines.append(f"Wall time: {run_wall:.0f} s for the training runs (sum of per-run wall times, "
               f"evaluation included), on a 2-core CPU shared with other jobs; this invocation "
               f"took {time.time() - start:.0f} s (finished runs are read back).")
  with open(os.path.join(args.out, "README.md"), "w") as f:
    f.write("\n".join(lines))


if __name__ == "__main__":
  main()
