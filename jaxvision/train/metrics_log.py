"""WORKDIR/metrics.jsonl, TensorBoard event files, and a progress bar or plain log lines.

Only process 0 writes. On resume the log is cut back to the restored step, so the steps that
the crashed run logged after its last checkpoint appear once, from the rerun, never twice.
"""

import json
import math
import os
import sys
import time

import jax

METRICS_FILE = "metrics.jsonl"


def truncate_after(path: str, step: int) -> None:
  """Drops records with a step beyond `step` (atomic rewrite; earlier records kept)."""
  if not os.path.exists(path):
    return
  kept = []
  with open(path) as f:
    for line in f:
      try:
        if json.loads(line)["step"] <= step:
          kept.append(line)
      except (ValueError, KeyError):
        continue  # A line half-written when the process was killed.
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.writelines(kept)
  os.replace(tmp, path)


class MetricsLog:

  def __init__(self, workdir: str, *, start_step: int, total_steps: int):
    self.enabled = jax.process_index() == 0
    self.path = os.path.join(workdir, METRICS_FILE)
    self.total_steps = total_steps
    self.bar = None
    self.tb = None
    if not self.enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    truncate_after(self.path, start_step)
    try:
      from tensorboardX import SummaryWriter
      # purge_step hides events a killed run wrote past the checkpoint we resume from.
      self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"),
                              purge_step=start_step or None)
    except ImportError:
      self.tb = None
    if sys.stderr.isatty():
      from tqdm import tqdm
      self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)
    self.last_time = time.time()

  def write(self, step: int, split: str, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "split": split}
    record.update({k: float(v) for k, v in metrics.items()})
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    if self.tb is not None:
      for name, value in metrics.items():
        if isinstance(value, (int, float)) and math.isfinite(value):
          self.tb.add_scalar(f"{split}/{name}", value, step)
      self.tb.flush()
    self._show(step, split, record)

  def _show(self, step, split, record):
    if split == "train" and self.bar is not None:
      self.bar.update(step - self.bar.n)
      self.bar.set_postfix(loss=f"{record.get('loss', float('nan')):.4f}")
      return
    text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) and not v.is_integer() else
                    f"{k}={int(v)}" for k, v in record.items() if k not in ("step", "split"))
    line = f"step {step}/{self.total_steps} [{split}] {text}"
    if self.bar is not None:
      self.bar.write(line)
    else:
      print(line, flush=True)

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
    if self.tb is not None:
      self.tb.close()
