"""Orbax checkpoints in WORKDIR/checkpoints: save every N steps, keep the newest few, resume.

WORKDIR/run.json records which model the checkpoints belong to. A workdir holding another
model's checkpoints is refused before anything is written, so nothing is ever overwritten.
Orbax writes each step to a temporary directory and renames it when complete, so a run killed
mid-save leaves the previous checkpoint as the latest.
"""

import json
import logging
import re
import sys
import time
import traceback

import flax
import jax
import orbax.checkpoint as ocp

from jaxvision import paths
from jaxvision.errors import UserError

RUN_INFO = "run.json"


def check_run_info(workdir: str, info: dict, *, record: bool = True) -> None:
  """Refuses a workdir whose checkpoints are of another model; records `info` if asked."""
  path = paths.join(workdir, RUN_INFO)
  if paths.exists(path):
    previous = json.loads(paths.read_text(path))
    info = json.loads(json.dumps(info))  # tuples come back from run.json as lists
    differing = [k for k in info if k in previous and previous[k] != info[k]]
    if differing:
      what = "; ".join(f"{k}: {previous[k]!r} there, {info[k]!r} now" for k in differing)
      raise UserError(f"workdir {workdir} holds a run of a different model ({what}); "
                      "use a new --workdir (nothing was changed)")
    return
  if record and jax.process_index() == 0:
    paths.makedirs(workdir)
    paths.write_text(path, json.dumps(info, indent=2, sort_keys=True))


STORAGE_ERRORS = ("RESOURCE_EXHAUSTED", "No space left on device", "PERMISSION_DENIED",
                  "Disk quota exceeded")


def is_storage_error(error: BaseException) -> bool:
  """A full disk or refused write, as tensorstore reports it (a ValueError with a status)."""
  return any(s in str(error) for s in STORAGE_ERRORS)


def _reason(error: BaseException) -> str:
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  text = str(error)
  for s in STORAGE_ERRORS[1:]:
    if s in text:
      return s
  return text.splitlines()[0][:200] if text else type(error).__name__


def _failed_step(error: BaseException, default):
  """The step whose temporary directory the error names (an earlier asynchronous save)."""
  found = re.search(r"/(\d+)\.orbax-checkpoint-tmp", str(error))
  return int(found.group(1)) if found else default


class _QuietStorageErrors(logging.Filter):
  """Orbax's background threads log a full traceback per failed array write (139 for one
  disk-full save); the CLI reports the failure in one line instead."""

  def filter(self, record):
    if record.levelno < logging.ERROR:
      return True
    error = record.exc_info[1] if record.exc_info else None
    return not (is_storage_error(record.getMessage()) or
                (error is not None and is_storage_error(error)))


# absl: Orbax's thread errors; asyncio: its futures whose failure was already raised to us.
for _name in ("absl", "asyncio"):
  logging.getLogger(_name).addFilter(_QuietStorageErrors())


def _loop_closed_fallout(unraisable) -> bool:
  """A tensorstore write finishing after Orbax's event loop closed: an aborted save's other
  array writes complete (with the same disk-full error) and tensorstore's done-callback calls
  `loop.call_soon_threadsafe` on the closed loop. Raised in a C++ thread, it reaches Python
  only as an 'unraisable' exception (one traceback per pending write) whose whole stack is
  asyncio's; the save's failure itself is reported by us in one line."""
  error = unraisable.exc_value
  if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
    return False
  frames = traceback.extract_tb(unraisable.exc_traceback)
  return bool(frames) and frames[0].name == "call_soon_threadsafe"


def _quiet_unraisable(previous):
  def hook(unraisable):
    if not _loop_closed_fallout(unraisable):
      previous(unraisable)
  hook.jaxvision_quiet = True
  return hook


if not getattr(sys.unraisablehook, "jaxvision_quiet", False):
  sys.unraisablehook = _quiet_unraisable(sys.unraisablehook)


class Checkpointer:
  """Saves and restores a TrainState as an Orbax 'state' item."""

  def __init__(self, workdir: str, *, max_to_keep: int = 3):
    self.workdir = workdir
    self._previous_save = None
    # A URL stays a URL: os.path.abspath would turn gs://b/run into ./gs:/b/run.
    self.directory = paths.absolute(paths.join(workdir, "checkpoints"))
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    # The handler named up front lets item_metadata() read shapes without restoring.
    self.manager = ocp.CheckpointManager(
        self.directory, options=options,
        item_handlers={"state": ocp.StandardCheckpointHandler()})

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, state, *, force: bool = False) -> None:
    step = int(jax.device_get(state.step))
    if step in self.manager.all_steps():
      return
    state_dict = flax.serialization.to_state_dict(state)
    self._previous_save, previous = step, self._previous_save
    try:
      self.manager.save(step, force=force,
                        args=ocp.args.Composite(state=ocp.args.StandardSave(state_dict)))
    except (OSError, ValueError) as e:
      # The save of `step` failed, or the asynchronous save before it did (Orbax reports
      # that one here, as tensorstore's ValueError('RESOURCE_EXHAUSTED: ...')).
      if isinstance(e, ValueError) and not is_storage_error(e):
        raise
      # Orbax reports an asynchronous save's failure at the next save: name that step.
      earlier = previous
      failed = earlier if earlier is not None and earlier not in self.manager.all_steps() \
          else _failed_step(e, step)
      raise UserError(f"could not write checkpoint {failed} to {self.directory}: "
                      f"{_reason(e)}; the last good checkpoint ({self.latest_good()}) of "
                      f"workdir {self.workdir} is intact; free space and run the same "
                      "command to resume") from None

  def latest_good(self):
    return max(self.manager.all_steps(), default="none")

  def restore(self, state, step: int | None = None):
    """The newest readable checkpoint (or `step`) in the structure and sharding of `state`.

    A checkpoint that cannot be read (truncated file, missing entry) is reported, moved to
    WORKDIR/checkpoints.corrupt/ (never deleted), and the one before it is tried.
    """
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct,
                          flax.serialization.to_state_dict(state))
    steps = sorted(self.manager.all_steps(), reverse=True) if step is None else [step]
    for candidate in steps:
      self._check_fits(candidate, target)
      try:
        restored = self.manager.restore(
            candidate, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))["state"]
      except Exception as e:  # Orbax/tensorstore raise many types for unreadable data.
        if step is not None:
          raise
        self._set_aside(candidate, e)
        continue
      return flax.serialization.from_state_dict(state, restored)
    return None

  def _check_fits(self, step, target):
    """A readable checkpoint of other shapes belongs to another model: refuse, keep it."""
    try:
      stored = self.manager.item_metadata(step)["state"]
      shapes = {jax.tree_util.keystr(k): tuple(v.shape)
                for k, v in jax.tree_util.tree_leaves_with_path(stored)}
    except Exception:  # unreadable metadata: restore() will find it corrupt
      return
    if not shapes:
      return
    wanted = {jax.tree_util.keystr(k): tuple(v.shape)
              for k, v in jax.tree_util.tree_leaves_with_path(target)}
    differing = [k for k in wanted if k in shapes and shapes[k] != wanted[k]]
    missing = [k for k in wanted if k not in shapes]
    if differing or missing:
      first = differing[0] if differing else missing[0]
      found = shapes.get(first, "missing")
      raise UserError(f"checkpoint {self.directory}/{step} does not fit this model ({first}: "
                      f"expected {wanted[first]}, found {found}); use a new --workdir")
    extra = [k for k in shapes if k not in wanted]
    if extra:  # e.g. EMA parameters saved by a run with ema_decay > 0
      raise UserError(f"checkpoint {self.directory}/{step} holds {extra[0]}, which this run "
                      "does not (was it trained with other settings, e.g. ema_decay?); "
                      "use the same settings or a new --workdir")

  def _set_aside(self, step, error):
    corrupt_dir = paths.join(self.workdir, "checkpoints.corrupt")
    if jax.process_index() == 0:
      paths.makedirs(corrupt_dir)
      destination = paths.join(corrupt_dir, f"{step}-{int(time.time())}")
      paths.move(paths.join(self.directory, str(step)), destination)
      reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
      print(f"jaxvision: warning: checkpoint {self.directory}/{step} is unreadable ({reason});"
            f" moved to {destination}; trying the previous one", file=sys.stderr, flush=True)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices(f"set_aside_{step}")
    self.manager.reload()

  def close(self) -> None:
    if self.manager is None:
      return
    manager, self.manager = self.manager, None
    try:
      manager.wait_until_finished()
    except (OSError, ValueError) as e:  # an asynchronous save failed (disk full, permissions)
      if isinstance(e, ValueError) and not is_storage_error(e):
        raise
      self.manager = manager  # for latest_good()
      last = self.latest_good()
      self.manager = None
      raise UserError(f"could not finish writing checkpoint {_failed_step(e, '?')} to "
                      f"{self.directory}: {_reason(e)}; the last good checkpoint ({last}) "
                      f"of workdir {self.workdir} is intact") from None
    finally:
      try:
        manager.close()
      except (OSError, ValueError):
        pass  # the failure was reported above; closing only repeats it
