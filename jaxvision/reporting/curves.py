"""Curves from WORKDIR/metrics.jsonl: one run's metrics, or several runs overlaid."""

import json

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

from jaxvision import paths  # noqa: E402
from jaxvision.errors import UserError  # noqa: E402

PANELS = (("loss", "loss"), ("accuracy", "top-1 accuracy"), ("learning_rate", "learning rate"),
          ("images_per_s", "images / s"))
# Workdirs written before session 11 name the throughput as metrics.jsonl did then.
OLD_NAMES = {"images_per_sec": "images_per_s"}


def read_metrics(workdir: str) -> list[dict]:
  path = paths.join(workdir, "metrics.jsonl")
  if not paths.exists(path):
    raise UserError(f"no metrics.jsonl in {workdir}; is it a jaxvision workdir?")
  records = []
  for line in paths.read_text(path).splitlines():
    try:
      record = json.loads(line)
    except ValueError:
      continue  # a line cut short by a kill
    records.append({OLD_NAMES.get(k, k): v for k, v in record.items()})
  return records


def series(records, split, metric):
  points = [(r["step"], r[metric]) for r in records if r["split"] == split and metric in r]
  return [p[0] for p in points], [p[1] for p in points]


def plot_run(records, path: str, title: str) -> None:
  fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.4))
  for ax, (metric, label) in zip(axes, PANELS):
    for split, style in (("train", "-"), ("validation", "o-"), ("test", "s")):
      steps, values = series(records, split, metric)
      if steps:
        ax.plot(steps, values, style, label=split, markersize=3)
    ax.set_xlabel("step")
    ax.set_title(label)
    ax.grid(alpha=0.3)
    if metric == "loss":
      ax.set_yscale("log")
    if ax.lines:
      ax.legend()
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_comparison(runs: dict[str, list[dict]], path: str) -> None:
  """Training loss and test accuracy of several runs on shared axes."""
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  # runs with a validation split were evaluated on test once: their curve is the validation's
  held_out = any(r["split"] == "validation" for records in runs.values() for r in records)
  split = "validation" if held_out else "test"
  for name, records in runs.items():
    steps, values = series(records, "train", "loss")
    axes[0].plot(steps, values, label=name)
    steps, values = series(records, split, "accuracy")
    axes[1].plot(steps, values, "o-", label=name, markersize=3)
  axes[0].set_yscale("log")
  for ax, title in zip(axes, ("training loss", f"{split} top-1 accuracy")):
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def final(records, split, metric):
  _, values = series(records, split, metric)
  return values[-1] if values else float("nan")
