"""`jaxvision report` and `compare`: files written, numbers consistent with the run's own log."""

import json
import os

import numpy as np

from helpers import run_cli
from jaxvision.reporting import confusion


def test_confusion_matrix_matches_scikit_learn():
  from sklearn.metrics import confusion_matrix
  rng = np.random.default_rng(0)
  labels, preds = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
  np.testing.assert_array_equal(confusion.confusion_matrix(preds, labels, 7),
                                confusion_matrix(labels, preds, labels=range(7)))
  matrix = np.array([[5, 0, 3], [9, 2, 0], [1, 1, 4]])
  assert confusion.most_confused(matrix, k=2) == [(1, 0, 9), (0, 2, 3)]


def test_report_and_compare(tmp_path):
  runs = []
  # The longer run keeps an EMA of its weights: the report must predict with the EMA, as the
  # run's own evaluation does (it once used the raw weights and disagreed with the log).
  for name, steps, ema in (("short", 20, 0.0), ("longer", 60, 0.99)):
    workdir = str(tmp_path / name)
    code, _, err = run_cli("train", "--config", "configs/lenet5_digits.py", "--workdir",
                           workdir, f"--config.num_train_steps={steps}",
                           "--config.log_every_steps=10", f"--config.ema_decay={ema}")
    assert code == 0, err
    runs.append(workdir)
  code, out, err = run_cli("report", runs[1])
  assert code == 0, err
  report_dir = os.path.join(runs[1], "report")
  for name in ("curves.png", "confusion.png", "report.md"):
    assert os.path.getsize(os.path.join(report_dir, name)) > 1000 or name == "report.md"
  text = open(os.path.join(report_dir, "report.md")).read()
  # The report predicts the test split itself; its accuracy must equal the logged evaluation.
  with open(os.path.join(runs[1], "metrics.jsonl")) as f:
    logged = [r for r in map(json.loads, f) if r["split"] == "test"][-1]["accuracy"]
  assert f"**{logged:.4f}**" in text
  section = text.split("## Per-class accuracy")[1].split("## Most confused")[0]
  per_class = [l for l in section.splitlines() if l.startswith("| ") and l[2].isdigit()]
  assert len(per_class) == 10
  assert sum(int(l.split("|")[3]) for l in per_class) == 360

  out = str(tmp_path / "cmp")
  code, _, err = run_cli("compare", *runs, "--out", out)
  assert code == 0, err
  table = open(os.path.join(out, "compare.md")).read()
  assert "| short | 20 |" in table and "| longer | 60 |" in table
  assert os.path.getsize(os.path.join(out, "compare.png")) > 1000
  code, _, err = run_cli("compare", runs[0])
  assert code == 2 and "two or more" in err


def test_old_workdirs_throughput_is_read_under_the_new_name(tmp_path):
  # metrics.jsonl before session 11 said images_per_sec; bench JSON and now the loop say
  # images_per_s. A report of an old workdir must still find its throughput.
  from jaxvision.reporting import curves

  (tmp_path / "metrics.jsonl").write_text(
      '{"step": 100, "split": "train", "loss": 0.5, "images_per_sec": 812.5}\n'
      '{"step": 200, "split": "train", "loss": 0.4, "images_per_s": 900.0}\n')
  records = curves.read_metrics(str(tmp_path))
  assert curves.series(records, "train", "images_per_s") == ([100, 200], [812.5, 900.0])
  assert all("images_per_sec" not in r for r in records)
