"""`jaxvision report WORKDIR` and `jaxvision compare WORKDIR...`: PNGs and a Markdown summary.

A report rebuilds the run from WORKDIR/config.json (written at every start), restores the
newest checkpoint, and predicts the whole test split once for the confusion matrix.
"""

import contextlib
import os
import tempfile

from jaxvision import paths
from jaxvision.errors import UserError
from jaxvision.reporting import confusion, curves
from jaxvision.reporting.run_config import load_run_config


@contextlib.contextmanager
def _staged(out: str):
  """A local folder to draw into; for an object-store `out` its files are uploaded at the end
  (matplotlib writes files, and a URL given to it would become a local `gs:` folder)."""
  if not paths.is_remote(out):
    yield out
    return
  with tempfile.TemporaryDirectory() as local:
    yield local
    for name in sorted(os.listdir(local)):
      with open(os.path.join(local, name), "rb") as f:
        paths.write_bytes(paths.join(out, name), f.read())


def write_report(workdir: str, out: str | None = None) -> str:
  """Writes REPORT_DIR/{curves,confusion,confused}.png and report.md; returns report.md."""
  out = out or paths.join(workdir, "report")
  with _staged(out) as local:
    written = _write_report(workdir, local)
  return paths.join(out, os.path.basename(written))


def _write_report(workdir: str, out: str) -> str:
  from jaxvision.train import experiment

  records = curves.read_metrics(workdir)
  config = load_run_config(workdir)
  if config.get("objective") == "mae":  # MAE's report: original / masked / reconstructed
    from jaxvision.reporting import mae_grid

    return str(mae_grid.write_workdir_grid(workdir, out))
  if config.get("objective", "supervised") not in ("supervised", "supervised_labeled",
                                                     "mixmatch"):
    hint = ("jaxvision zero-shot --workdir " + workdir if config.objective == "clip" else
            f"jaxvision eval --config CONFIG --workdir {workdir}")
    raise UserError(f"jaxvision report draws a classifier's confusion matrix; this is a "
                    f"{config.objective!r} run: use {hint}")
  os.makedirs(out, exist_ok=True)  # only now: a refused report leaves nothing behind
  name = config.model.name
  curves.plot_run(records, os.path.join(out, "curves.png"), f"{name} on {config.data.name}")
  exp, state = experiment.load_trained(config, workdir)
  preds, labels, wrong = confusion.predict_split(exp, state)
  classes = list(exp.source.class_names)
  matrix = confusion.confusion_matrix(preds, labels, len(classes))
  accuracy = float((preds == labels).mean())
  confusion.plot_confusion(matrix, classes, os.path.join(out, "confusion.png"),
                           f"{name}: test top-1 {accuracy:.4f}")
  pairs = confusion.most_confused(matrix)
  has_examples = confusion.plot_confused_examples(
      pairs, wrong, classes, config.data.mean, config.data.std,
      os.path.join(out, "confused.png"))
  lines = [f"# {name} on {config.data.name}", "",
           f"Workdir `{workdir}`, checkpoint at step {int(state.step)}; test top-1 "
           f"**{accuracy:.4f}** on {len(labels):,} images.", "",
           "![curves](curves.png)", "", "## Per-class accuracy", "",
           "| class | accuracy | images |", "|---|---|---|"]
  for i, cls in enumerate(classes):
    total = int(matrix[i].sum())
    lines.append(f"| {cls} | {matrix[i, i] / max(total, 1):.4f} | {total} |")
  lines += ["", "## Most confused pairs", "", "| true | predicted | count |", "|---|---|---|"]
  lines += [f"| {classes[t]} | {classes[p]} | {n} |" for t, p, n in pairs]
  lines += ["", "![confusion](confusion.png)", ""]
  if has_examples:
    lines += ["![confused examples](confused.png)", ""]
  path = os.path.join(out, "report.md")
  with open(path, "w") as f:
    f.write("\n".join(lines))
  return path


def write_comparison(workdirs: list[str], out: str) -> str:
  """Overlays the runs' training loss and test accuracy; a table of final numbers."""
  if len(workdirs) < 2:
    raise UserError("compare needs two or more workdirs")
  runs = {}
  for workdir in workdirs:
    name = workdir.rstrip("/").rsplit("/", 1)[-1]
    if name in runs:
      name = workdir
    runs[name] = curves.read_metrics(workdir)
  with _staged(out) as local:
    _write_comparison(runs, local)
  return paths.join(out, "compare.md")


def _write_comparison(runs: dict, out: str) -> None:
  os.makedirs(out, exist_ok=True)
  curves.plot_comparison(runs, os.path.join(out, "compare.png"))
  lines = ["# Comparison", "", "| run | last step | final train loss | final test top-1 |",
           "|---|---|---|---|"]
  for name, records in runs.items():
    last = max((r["step"] for r in records), default=0)
    lines.append(f"| {name} | {last} | {curves.final(records, 'train', 'loss'):.4f} | "
                 f"{curves.final(records, 'test', 'accuracy'):.4f} |")
  lines += ["", "![comparison](compare.png)", ""]
  with open(os.path.join(out, "compare.md"), "w") as f:
    f.write("\n".join(lines))
