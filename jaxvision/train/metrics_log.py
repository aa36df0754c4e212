"""WORKDIR/metrics.jsonl, TensorBoard event files, and a progress bar or plain log lines.

Only process 0 writes. On resume the log is cut back to the restored step, so the steps that
the crashed run logged after its last checkpoint appear once, from the rerun, never twice.
"""

import io
import json
import math
import sys
import time

import jax

from jaxvision import paths
from jaxvision.import_without import module_hidden

METRICS_FILE = "metrics.jsonl"


def truncate_after(path: str, step: int) -> None:
  """Drops records with a step beyond `step` (atomic rewrite; earlier records kept)."""
  if not paths.exists(path):
    return
  kept = []
  for line in paths.read_text(path).splitlines(keepends=True):
    try:
      if json.loads(line)["step"] <= step:
        kept.append(line if line.endswith("\n") else line + "\n")
    except (ValueError, KeyError):
      continue  # A line half-written when the process was killed.
  paths.write_text(path, "".join(kept))


class _ObjectRecordWriter:
  """tensorboardX's event-file writer for object stores, through jaxvision.paths.

  An object cannot be appended to, so the events are kept in memory and the whole object is
  uploaded at each flush (a log interval); event files of small runs are kilobytes.
  """

  def __init__(self, path):
    self.path = path
    self.buffer = io.BytesIO()

  def write(self, data):
    self.buffer.write(data)

  def flush(self):
    paths.write_bytes(self.path, self.buffer.getvalue())

  def close(self):
    self.flush()


class _ObjectRecordWriterFactory:

  def open(self, path):
    return _ObjectRecordWriter(path)

  def directory_check(self, path):
    del path  # object stores have no folders to create


def _import_tensorboardx():
  """tensorboardX's modules, imported without torch.

  tensorboardX imports torch whenever it is installed (to accept torch tensors, which we never
  pass): 3 s of every `jaxvision train` start with the [interop] extra. Hidden for the import
  (`import torch` then raises ImportError, which tensorboardX expects), unless torch is loaded
  already; later imports of torch are not affected.
  """
  with module_hidden("torch"):
    from tensorboardX import SummaryWriter, record_writer
  return SummaryWriter, record_writer


def _tensorboard_writer(logdir, start_step):
  try:
    SummaryWriter, record_writer = _import_tensorboardx()
  except ImportError:
    return None
  for scheme in paths.REMOTE_SCHEMES:
    # Replaces tensorboardX's own gs:// writer (google-cloud-storage): one client for all.
    record_writer.register_writer_factory(scheme.rstrip(":/"), _ObjectRecordWriterFactory())
  # purge_step hides events a killed run wrote past the checkpoint we resume from.
  return SummaryWriter(logdir, purge_step=start_step or None)


def _clock(seconds: float) -> str:
  seconds = int(round(seconds))
  return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class MetricsLog:

  def __init__(self, workdir: str, *, start_step: int, total_steps: int):
    self.enabled = jax.process_index() == 0
    self.path = paths.join(workdir, METRICS_FILE)
    self.total_steps = total_steps
    self.start_step = start_step
    self.started = time.time()
    self.bar = None
    self.tb = None
    if not self.enabled:
      return
    paths.makedirs(workdir)
    truncate_after(self.path, start_step)
    self.tb = _tensorboard_writer(paths.join(workdir, "tensorboard"), start_step)
    if sys.stderr.isatty():
      from tqdm import tqdm
      self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)
    self.last_time = time.time()

  def write(self, step: int, split: str, metrics: dict) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), "split": split}
    record.update({k: float(v) for k, v in metrics.items()})
    paths.append_text(self.path, json.dumps(record) + "\n")
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
    if split == "train":  # the plain line a pod's log (gcloud ssh, SLURM) keeps
      print(self.progress_line(step, record), flush=True)
      return
    text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) and not v.is_integer() else
                    f"{k}={int(v)}" for k, v in record.items() if k not in ("step", "split"))
    line = f"step {step}/{self.total_steps} [{split}] {text}"
    if self.bar is not None:
      self.bar.write(line)
    else:
      print(line, flush=True)

  def progress_line(self, step, record) -> str:
    """'step 200/1000 loss 0.4321 812.3 images/s ETA 0:03:12 (accuracy=0.91 ...)'.

    The ETA extrapolates the wall time per step since this (re)start, evaluations and
    checkpoints included, so it is what the user will wait."""
    done = step - self.start_step
    elapsed = time.time() - self.started
    eta = "?" if done <= 0 else _clock(elapsed / done * (self.total_steps - step))
    rate = record.get("images_per_s")
    rest = " ".join(f"{k}={v:.4g}" for k, v in record.items()
                    if k not in ("step", "split", "loss", "images_per_s"))
    return (f"step {step}/{self.total_steps} loss {record.get('loss', float('nan')):.4f} "
            f"{'?' if rate is None else f'{rate:.1f}'} images/s ETA {eta} ({rest})")

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
    if self.tb is not None:
      self.tb.close()
