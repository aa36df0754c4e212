"""Orbax checkpoints in WORKDIR/checkpoints: save every N steps, keep the newest few, resume.

WORKDIR/run.json records which model the checkpoints belong to. A workdir holding another
model's checkpoints is refused before anything is written, so nothing is ever overwritten.
Orbax writes each step to a temporary directory and renames it when complete, so a run killed
mid-save leaves the previous checkpoint as the latest.
"""

import json
import os

import flax
import jax
import orbax.checkpoint as ocp

from jaxvision.errors import UserError

RUN_INFO = "run.json"


def check_run_info(workdir: str, info: dict, *, record: bool = True) -> None:
  """Refuses a workdir whose checkpoints are of another model; records `info` if asked."""
  path = os.path.join(workdir, RUN_INFO)
  if os.path.exists(path):
    with open(path) as f:
      previous = json.load(f)
    differing = [k for k in info if k in previous and previous[k] != info[k]]
    if differing:
      what = "; ".join(f"{k}: {previous[k]!r} there, {info[k]!r} now" for k in differing)
      raise UserError(f"workdir {workdir} holds a run of a different model ({what}); "
                      "use a new --workdir (nothing was changed)")
    return
  if record and jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
      json.dump(info, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


class Checkpointer:
  """Saves and restores a TrainState as an Orbax 'state' item."""

  def __init__(self, workdir: str, *, max_to_keep: int = 3):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, state, *, force: bool = False) -> None:
    step = int(jax.device_get(state.step))
    if step in self.manager.all_steps():
      return
    state_dict = flax.serialization.to_state_dict(state)
    self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state_dict)),
                      force=force)

  def restore(self, state, step: int | None = None):
    """The checkpoint at `step` (default: latest) in the structure and sharding of `state`."""
    step = self.latest_step() if step is None else step
    if step is None:
      return None
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct,
                          flax.serialization.to_state_dict(state))
    try:
      restored = self.manager.restore(
          step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))["state"]
    except (ValueError, KeyError, TypeError) as e:
      raise UserError(f"checkpoint {self.directory}/{step} does not fit this model "
                      f"({str(e).splitlines()[0][:200]}); use a new --workdir") from None
    return flax.serialization.from_state_dict(state, restored)

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()
