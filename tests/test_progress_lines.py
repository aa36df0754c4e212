"""With stderr not a terminal (gcloud ssh, SLURM logs) process 0 prints one plain line per log
interval with step, loss, images/s and an ETA; the ETA is the remaining steps at the wall time
per step since this (re)start."""

import json
import time

from jaxvision.train.metrics_log import MetricsLog


def test_plain_progress_line_with_rate_and_eta(tmp_path, capsys):
  log = MetricsLog(str(tmp_path), start_step=100, total_steps=300)
  assert log.bar is None  # pytest's stderr is not a terminal
  log.started = time.time() - 50.0  # 100 steps took 50 s -> 100 more take 50 s
  log.write(200, "train", {"loss": 0.5, "images_per_s": 812.34, "accuracy": 0.9})
  line = capsys.readouterr().out.strip()
  assert line.startswith("step 200/300 loss 0.5000 812.3 images/s ETA 0:00:5"), line
  assert "accuracy=0.9" in line and line.count("\n") == 0
  record = json.loads((tmp_path / "metrics.jsonl").read_text())
  assert record == {"step": 200, "split": "train", "loss": 0.5, "images_per_s": 812.34,
                    "accuracy": 0.9}
  log.close()
