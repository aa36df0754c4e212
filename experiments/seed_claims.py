"""Reproduces four classic claims on Fashion-MNIST with jaxvision's own train loop.

  python experiments/seed_claims.py --out results/seed_claims [--steps-scale X]
      [--only degradation,bn,regularisation,attention] [--runs /tmp/seed_claims_runs]
  python experiments/seed_claims.py --probe     # 20-step throughput of every model used

1. degradation (He et al. 2016): after the same steps plain56 trains to a higher loss than
   plain20, while resnet56 reaches at or below resnet20.
2. bn (Ioffe & Szegedy 2015): resnet20 with BatchNorm converges faster than without any
   normalisation (norm='none'), at the same learning rate.
3. regularisation (Srivastava et al. 2014; Krizhevsky et al. 2012): dropout and random
   crop + flip narrow the train-test accuracy gap of LeNet-5 trained on a small subset.
4. attention (Hu et al. 2018; Park et al. 2018): SE- and BAM-ResNet-20 match or beat ResNet-20.

Every run is one call of `train_and_evaluate` in its own workdir under --runs (default
/tmp/seed_claims_runs, outside the repository), so a rerun resumes or skips finished runs.
Plots (PNG) and the table (README.md) go to --out.
"""

import argparse
import gzip
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402

from jaxvision.config_loading import load_config_file  # noqa: E402
from jaxvision.commands.eval import evaluate_workdir  # noqa: E402
from jaxvision.errors import UserError  # noqa: E402
from jaxvision.reporting.curves import OLD_NAMES  # noqa: E402
from jaxvision.train.loop import train_and_evaluate  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_CONFIG = os.path.join(REPO, "configs", "lenet5_fashion_mnist.py")
FMNIST = "/usr/share/datasets/fashion-mnist"
CLAIMS = ("degradation", "bn", "regularisation", "attention")

# Sized for about 40 minutes on a shared 2-core CPU (see --probe and the README). ResNets:
# a fixed number of steps on the full train split (less than one epoch) at the native 28x28,
# tested on the first DEEP_TEST_IMAGES test images; LeNet-5: many epochs on a small train
# subset so that it can overfit, tested on all 10,000. Steps scale with --steps-scale.
DEEP_STEPS, DEEP_BATCH, DEEP_IMAGE_SIZE, DEEP_TEST_IMAGES = 360, 32, 28, 5000
REG_STEPS, REG_BATCH, REG_TRAIN_IMAGES = 1000, 64, 1000
LOG_EVERY = 10


def make_config(model: str, steps: int, batch: int, *, data_dir: str = FMNIST,
                augment=("random_crop", "flip"), image_size: int = 32,
                **model_kw) -> ml_collections.ConfigDict:
  """The repository's Fashion-MNIST config (Adam 2e-3, cosine, 32x32 padded) with overrides."""
  config = load_config_file(BASE_CONFIG)
  with config.unlocked():
    config.model = ml_collections.ConfigDict({"name": model, **model_kw})
  config.data.dir = data_dir
  config.data.augment = tuple(augment)
  if image_size != 32:  # the native 28x28, no zero padding (LeNet-5 needs 32)
    config.data.image_size, config.data.resize = image_size, "none"
  config.batch_size = batch
  config.num_train_steps = steps
  config.log_every_steps = LOG_EVERY
  config.eval_every_steps = steps          # one test evaluation, at the end
  config.checkpoint_every_steps = max(LOG_EVERY, steps // 3)
  config.keep_checkpoints = 1
  return config


def write_idx(path: str, array: np.ndarray) -> None:
  header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
  with open(path + ".tmp", "wb") as f:
    f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())
  os.replace(path + ".tmp", path)


def read_idx(path: str) -> np.ndarray:
  with gzip.open(path, "rb") as f:
    data = f.read()
  dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
  return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def subset_dir(runs_dir: str, n_train: int | None, n_test: int | None) -> str:
  """An IDX folder with the first n_train / n_test images of each split (None: all, linked)."""
  name = f"fashion_mnist_train{n_train or 'all'}_test{n_test or 'all'}"
  out = os.path.join(runs_dir, "data", name)
  os.makedirs(out, exist_ok=True)
  for n, stems in ((n_train, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
                   (n_test, ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))):
    for stem in stems:
      if n is None and not os.path.exists(os.path.join(out, stem + ".gz")):
        os.symlink(os.path.join(FMNIST, stem + ".gz"), os.path.join(out, stem + ".gz"))
      elif n is not None and not os.path.exists(os.path.join(out, stem)):
        write_idx(os.path.join(out, stem), read_idx(os.path.join(FMNIST, stem + ".gz"))[:n])
  return out


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:  # older runs name the throughput images_per_sec (OLD_NAMES)
    return [{OLD_NAMES.get(k, k): v for k, v in json.loads(line).items()}
            for line in f if line.strip()]


def run(runs_dir: str, name: str, config, clean_train_eval: bool = False) -> dict:
  """Trains (or resumes, or skips when finished) one run; returns its curves and results."""
  workdir = os.path.join(runs_dir, name)
  steps = config.num_train_steps
  records = read_metrics(workdir)
  done = any(r["split"] == "test" and r["step"] == steps for r in records)
  status_path = os.path.join(workdir, "status.json")
  status = {"wall_s": 0.0, "diverged": None}
  if os.path.exists(status_path):
    with open(status_path) as f:
      status = json.load(f)
  if not done and not status["diverged"]:
    print(f"=== {name}: {config.model.to_dict()} {steps} steps x {config.batch_size}", flush=True)
    start = time.time()
    try:
      train_and_evaluate(config, workdir)
    except UserError as e:  # divergence: the loop names the step; record it, go on
      status["diverged"] = str(e)
      print(f"=== {name}: {e}", flush=True)
    status["wall_s"] += time.time() - start
    os.makedirs(workdir, exist_ok=True)
    with open(status_path, "w") as f:
      json.dump(status, f)
    records = read_metrics(workdir)
  train = [r for r in records if r["split"] == "train"]
  test = [r for r in records if r["split"] == "test" and r["step"] == steps]
  result = {"name": name, "model": config.model.to_dict(), "steps": steps,
            "batch": config.batch_size, "wall_s": status["wall_s"],
            "diverged": status["diverged"],
            "curve_step": [r["step"] for r in train], "curve_loss": [r["loss"] for r in train],
            "curve_acc": [r["accuracy"] for r in train],
            "images_per_sec": float(np.median([r["images_per_s"] for r in train
                                               if "images_per_s" in r] or [np.nan])),
            "test_acc": test[-1]["accuracy"] if test else np.nan,
            "test_loss": test[-1]["loss"] if test else np.nan}
  # Final training loss/accuracy: mean over the last 10% of steps (interval means are noisy).
  tail = max(1, len(train) // 10)
  result["train_loss"] = float(np.mean(result["curve_loss"][-tail:])) if train else np.nan
  result["train_acc_running"] = float(np.mean(result["curve_acc"][-tail:])) if train else np.nan
  if clean_train_eval and test:
    # The logged train accuracy has dropout and augmentation on; the gap is measured on the
    # clean training images in eval mode, as the test set is.
    path = os.path.join(workdir, "train_eval.json")
    if not os.path.exists(path):
      with open(path, "w") as f:
        json.dump(evaluate_workdir(config, workdir, split="train"), f)
    with open(path) as f:
      result["train_acc"] = json.load(f)["accuracy"]
  return result


def smooth(values, k=5):
  v = np.asarray(values, float)
  if len(v) < k:
    return v
  return np.convolve(np.pad(v, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, "valid")


def plot_curves(path, title, results, styles, labels=None, acc_label="test acc",
                note=f"test acc on the first {DEEP_TEST_IMAGES:,} test images"):
  fig, ax = plt.subplots(figsize=(7, 4.5))
  for r in results:
    label = (labels or {}).get(r["name"], r["name"].rsplit("_b", 1)[0])
    label += f"  ({acc_label} {r['test_acc']:.3f})"
    if r["diverged"]:
      label += " diverged"
    ax.plot(r["curve_step"], smooth(r["curve_loss"]), label=label, **styles.get(r["name"], {}))
  ax.set_xlabel("training step")
  ax.set_ylabel(f"training loss ({LOG_EVERY}-step means, 5-point moving average)")
  if note:
    ax.plot([], [], " ", label=note)
  ax.set_title(title, fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def deep_runs(runs_dir, scale, names):
  steps = max(LOG_EVERY, int(round(DEEP_STEPS * scale)))
  data_dir = subset_dir(runs_dir, None, DEEP_TEST_IMAGES)
  out = {}
  for tag in names:
    model, _, norm = tag.partition(":")
    kw = {"norm": norm} if norm else {}
    name = f"{model}{'-' + norm if norm else ''}_b{DEEP_BATCH}_s{steps}"
    config = make_config(model, steps, DEEP_BATCH, data_dir=data_dir,
                         image_size=DEEP_IMAGE_SIZE, **kw)
    out[tag] = run(runs_dir, name, config)
  return out


def fmt(x, digits=3):
  return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def claim_degradation(runs_dir, out_dir, scale):
  r = deep_runs(runs_dir, scale, ["plain20", "plain56", "resnet20", "resnet56"])
  styles = {r["plain20"]["name"]: dict(color="tab:blue", ls="--"),
            r["plain56"]["name"]: dict(color="tab:red", ls="--"),
            r["resnet20"]["name"]: dict(color="tab:blue"),
            r["resnet56"]["name"]: dict(color="tab:red")}
  plot_curves(os.path.join(out_dir, "degradation.png"),
              "Claim 1, degradation: plain (dashed) vs residual (solid), 20 vs 56 layers",
              list(r.values()), styles)
  plain = r["plain56"]["train_loss"] > r["plain20"]["train_loss"]
  res = r["resnet56"]["train_loss"] <= r["resnet20"]["train_loss"]
  table = ["| model | final train loss | final train acc (running) | test acc | images/s | "
           "wall s |", "|---|---|---|---|---|---|"]
  table += [f"| {k} | {fmt(v['train_loss'])} | {fmt(v['train_acc_running'])} | "
            f"{fmt(v['test_acc'])} | {fmt(v['images_per_sec'], 0)} | {fmt(v['wall_s'], 0)} |"
            for k, v in r.items()]
  verdict = (f"plain56 > plain20 in training loss: **{plain}** "
             f"({fmt(r['plain56']['train_loss'])} vs {fmt(r['plain20']['train_loss'])}); "
             f"resnet56 <= resnet20: **{res}** "
             f"({fmt(r['resnet56']['train_loss'])} vs {fmt(r['resnet20']['train_loss'])}). "
             f"Claim held: **{plain and res}**.")
  return "degradation.png", table, verdict, r


def claim_bn(runs_dir, out_dir, scale):
  r = deep_runs(runs_dir, scale, ["resnet20", "resnet20:none"])
  bn, none = r["resnet20"], r["resnet20:none"]
  plot_curves(os.path.join(out_dir, "bn.png"),
              "Claim 2, batch norm: ResNet-20 with BatchNorm vs no normalisation, same lr",
              [bn, none], {bn["name"]: dict(color="tab:green"), none["name"]: dict(color="k")},
              {bn["name"]: "resnet20, BatchNorm", none["name"]: "resnet20, no normalisation"})
  table = ["| model | train loss @25% | @50% | final | test acc | wall s |",
           "|---|---|---|---|---|---|"]
  marks = {}
  for label, v in (("resnet20 (BN)", bn), ("resnet20 (no norm)", none)):
    loss = smooth(v["curve_loss"])
    at = [float(loss[max(0, int(len(loss) * f) - 1)]) if len(loss) else np.nan
          for f in (0.25, 0.5)]
    marks[label] = at + [v["train_loss"]]
    table.append(f"| {label} | {fmt(at[0])} | {fmt(at[1])} | {fmt(v['train_loss'])} | "
                 f"{fmt(v['test_acc'])} | {fmt(v['wall_s'], 0)} |")
  faster = all(a < b for a, b in zip(marks["resnet20 (BN)"], marks["resnet20 (no norm)"]))
  better = bn["test_acc"] > none["test_acc"] or bool(none["diverged"])
  verdict = (f"BN lower training loss at 25%, 50% and 100% of the run: **{faster}**; "
             f"BN higher test accuracy: **{better}**"
             + (f" (no-norm run diverged: {none['diverged']})" if none["diverged"] else "")
             + f". Claim held: **{faster and better}**.")
  return "bn.png", table, verdict, r


def claim_regularisation(runs_dir, out_dir, scale):
  steps = max(LOG_EVERY, int(round(REG_STEPS * scale)))
  data_dir = subset_dir(runs_dir, REG_TRAIN_IMAGES, None)
  settings = {"neither": (0.0, ()), "dropout": (0.5, ()),
              "augment": (0.0, ("random_crop", "flip")),
              "both": (0.5, ("random_crop", "flip"))}
  r = {}
  for label, (rate, augment) in settings.items():
    config = make_config("lenet5", steps, REG_BATCH, data_dir=data_dir, augment=augment,
                         dropout_rate=rate)
    name = f"lenet5-{label}_n{REG_TRAIN_IMAGES}_b{REG_BATCH}_s{steps}"
    r[label] = run(runs_dir, name, config, clean_train_eval=True)
  labels = list(r)
  train = [r[k].get("train_acc", np.nan) for k in labels]
  test = [r[k]["test_acc"] for k in labels]
  fig, ax = plt.subplots(figsize=(7, 4.5))
  x = np.arange(len(labels))
  ax.bar(x - 0.2, train, 0.4, label="train accuracy (clean, eval mode)", color="tab:blue")
  ax.bar(x + 0.2, test, 0.4, label="test accuracy (10,000 images)", color="tab:orange")
  for i, (a, b) in enumerate(zip(train, test)):
    ax.text(i, max(a, b) + 0.005, f"gap {a - b:.3f}", ha="center", fontsize=9)
  ax.set_xticks(x, ["neither", "dropout 0.5", "crop + flip", "both"])
  ax.set_ylim(min(test + train) - 0.05, 1.08)
  ax.set_ylabel("top-1 accuracy")
  ax.set_title(f"Claim 3: LeNet-5 on {REG_TRAIN_IMAGES:,} Fashion-MNIST images, {steps} steps "
               f"x {REG_BATCH} (~{steps * REG_BATCH // REG_TRAIN_IMAGES} epochs)", fontsize=10)
  ax.legend(loc="upper center", ncol=2, fontsize=9)
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, "regularisation.png"), dpi=120)
  plt.close(fig)
  table = ["| setting | train acc (clean) | train acc (running, as trained) | test acc | gap | "
           "wall s |", "|---|---|---|---|---|---|"]
  gaps = {}
  for k in labels:
    v = r[k]
    gaps[k] = v.get("train_acc", np.nan) - v["test_acc"]
    table.append(f"| {k} | {fmt(v.get('train_acc', np.nan))} | {fmt(v['train_acc_running'])} | "
                 f"{fmt(v['test_acc'])} | {fmt(gaps[k])} | {fmt(v['wall_s'], 0)} |")
  narrower = {k: bool(gaps[k] < gaps["neither"]) for k in ("dropout", "augment", "both")}
  verdict = ("gap narrower than with neither: " +
             ", ".join(f"{k} **{v}**" for k, v in narrower.items()) +
             f". Claim held: **{all(narrower.values())}**.")
  return "regularisation.png", table, verdict, r


def claim_attention(runs_dir, out_dir, scale):
  r = deep_runs(runs_dir, scale, ["resnet20", "se_resnet20", "bam_resnet20"])
  plot_curves(os.path.join(out_dir, "attention.png"),
              "Claim 4: ResNet-20 vs SE-ResNet-20 vs BAM-ResNet-20, same steps",
              list(r.values()), {})
  table = ["| model | final train loss | test acc | test loss | images/s | wall s |",
           "|---|---|---|---|---|---|"]
  table += [f"| {k} | {fmt(v['train_loss'])} | {fmt(v['test_acc'])} | {fmt(v['test_loss'])} | "
            f"{fmt(v['images_per_sec'], 0)} | {fmt(v['wall_s'], 0)} |" for k, v in r.items()]
  base = r["resnet20"]["test_acc"]
  ok = {k: bool(r[k]["test_acc"] >= base) for k in ("se_resnet20", "bam_resnet20")}
  verdict = ("test accuracy >= resnet20 (" + fmt(base) + "): " +
             ", ".join(f"{k} **{v}** ({fmt(r[k]['test_acc'])})" for k, v in ok.items()) +
             f". Claim held: **{all(ok.values())}**.")
  return "attention.png", table, verdict, r


def probe(runs_dir):
  """20 steps of every model used, to size the runs; prints images/s after compilation."""
  data_dir = subset_dir(runs_dir, None, DEEP_TEST_IMAGES)
  for model, kw in (("lenet5", {"dropout_rate": 0.5}), ("resnet20", {}),
                    ("resnet20", {"norm": "none"}),
                    ("plain20", {}), ("se_resnet20", {}), ("bam_resnet20", {}),
                    ("plain56", {}), ("resnet56", {})):
    size = 32 if model == "lenet5" else DEEP_IMAGE_SIZE
    config = make_config(model, 20, DEEP_BATCH, data_dir=data_dir, image_size=size, **kw)
    config.eval_batch_size = 1000
    name = f"probe-{model}{''.join('-' + str(v) for v in kw.values())}"
    start = time.time()
    res = run(runs_dir, name, config)
    print(f"PROBE {name}: {res['images_per_sec']:.0f} images/s after compile, "
          f"{time.time() - start:.0f} s in all (incl. compile and a 10k-image test eval)",
          flush=True)


TITLES = {"degradation": "1. Degradation (He et al. 2016)",
          "bn": "2. Batch normalisation speeds convergence (Ioffe & Szegedy 2015)",
          "regularisation": "3. Dropout and augmentation narrow the train-test gap",
          "attention": "4. SE and BAM match or beat ResNet-20"}
CAVEATS = (
    "One seed per run and runs of a few hundred steps (the papers train for tens of thousands): "
    "these are early-training results. Differences of about a point of test accuracy are within "
    "seed-to-seed noise and prove nothing either way.",
    "Claim 2's 'no normalisation' ResNet-20 uses norm='none', an identity: its convolutions "
    "have no bias, so it also loses the per-channel shift that BatchNorm's bias provided.",
    "Claim 3's gap is clean train accuracy (eval mode: no dropout, no augmentation, the same "
    "1,000 images) minus test accuracy. The running accuracy logged while training is lower "
    "whenever dropout or augmentation is on, which would shrink the gap by construction.",
    "LeNet-5 has no dropout in the 1998 paper; jaxvision's dropout_rate (default 0) puts it "
    "on the C5 and F6 outputs.",
)
RUNNERS = {"degradation": claim_degradation, "bn": claim_bn,
           "regularisation": claim_regularisation, "attention": claim_attention}


def write_readme(out_dir, sections, args, wall):
  runs = {r["name"]: r for _, _, _, rs in sections.values() for r in rs.values()}
  total = sum(r["wall_s"] for r in runs.values())
  lines = ["# Seed claims on Fashion-MNIST", "",
           f"Command: `python experiments/seed_claims.py --out {args.out} --steps-scale "
           f"{args.steps_scale}" + (f" --only {args.only}" if args.only else "") + "`", "",
           "One seed (0) per run, on a 2-core CPU shared with other jobs. All runs use "
           "configs/lenet5_fashion_mnist.py's Adam 2e-3, cosine schedule to zero over the run, "
           "random crop (padding 2) + flip unless said otherwise. ResNets (claims 1, 2, 4): "
           f"{DEEP_BATCH} images a step, {DEEP_IMAGE_SIZE}x{DEEP_IMAGE_SIZE}, full train split "
           f"(less than one epoch), test accuracy on the first {DEEP_TEST_IMAGES:,} test "
           "images. LeNet-5 (claim 3): 32x32 zero-padded, the first "
           f"{REG_TRAIN_IMAGES:,} train images, test on all 10,000. "
           "Final training loss/accuracy are means over the last 10% of logged 10-step "
           "intervals, as trained (augmentation and dropout on).", "",
           f"Wall time: {total:.0f} s for the {len(runs)} training runs (sum of per-run wall "
           f"times, compilation and test evaluation included); this invocation took {wall:.0f} "
           "s (finished runs are read back, not recomputed). images/s varies with the load "
           "other jobs put on the shared CPU, so it is no speed comparison.", ""]
  for claim, (png, table, verdict, _) in sections.items():
    lines += [f"## {TITLES[claim]}", "", f"![{claim}]({png})", ""] + table + ["", verdict, ""]
  lines += ["## Caveats", ""] + [f"- {c}" for c in CAVEATS]
  with open(os.path.join(out_dir, "README.md"), "w") as f:
    f.write("\n".join(lines))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", default="results/seed_claims")
  parser.add_argument("--runs", default="/tmp/seed_claims_runs")
  parser.add_argument("--steps-scale", type=float, default=1.0)
  parser.add_argument("--only", default="", help="comma-separated: " + ",".join(CLAIMS))
  parser.add_argument("--probe", action="store_true", help="time 20 steps of each model")
  args = parser.parse_args()
  os.makedirs(args.runs, exist_ok=True)
  if args.probe:
    probe(args.runs)
    return
  claims = [c for c in args.only.split(",") if c] or list(CLAIMS)
  unknown = set(claims) - set(CLAIMS)
  if unknown:
    parser.error(f"unknown claim(s) {sorted(unknown)}; choose from {', '.join(CLAIMS)}")
  os.makedirs(args.out, exist_ok=True)
  start = time.time()
  sections = {}
  for claim in claims:
    sections[claim] = RUNNERS[claim](args.runs, args.out, args.steps_scale)
    print(f"=== {claim}: {sections[claim][2]}", flush=True)
    with open(os.path.join(args.out, f"{claim}.json"), "w") as f:
      json.dump({k: {kk: vv for kk, vv in v.items() if not kk.startswith("curve")}
                 for k, v in sections[claim][3].items()}, f, indent=1, default=str)
  write_readme(args.out, sections, args, time.time() - start)


if __name__ == "__main__":
  main()
