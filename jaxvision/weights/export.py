"""Imported weights as a jaxvision workdir, and reading them back for eval and fine-tuning.

`jaxvision import-weights` writes DIR in a training run's layout, with one difference:

  DIR/run.json                 {model, num_classes, model_settings, input_shape, pretrained}
  DIR/checkpoints/0/weights    Orbax item 'weights': {'params', 'model_state': {'batch_stats'}}

A training checkpoint holds item 'state' (a whole TrainState, optimizer state included). An
import has no optimizer to take a state from -- momentum buffers depend on the optimizer the
user picks later -- so it stores only what the model needs, under its own item name: a
restore that asks for 'state' cannot mistake it for a training checkpoint, and nothing
invents an optimizer state. `load_pretrained` reads both kinds, so --config.init_from may
name an import or the workdir of an earlier training run.
"""

import json
import os
import shutil

import jax
import numpy as np

from jaxvision import models, paths
from jaxvision.errors import UserError
from jaxvision.weights import convert, files, presets

WEIGHTS_ITEM = "weights"
STATE_ITEM = "state"  # what jaxvision.checkpoint.Checkpointer saves
RUN_INFO = "run.json"
# Settings the reference's pretrained checkpoints were made with. torchvision sets
# transform_input=True whenever it loads its GoogLeNet/Inception v3 weights: they were
# trained (ported from TF) on inputs in [-1, 1] and the model maps ImageNet-normalised input
# there itself.
PRETRAINED_SETTINGS = {"googlenet": {"transform_input": True},
                       "inception_v3": {"transform_input": True}}


def _manager(directory: str, item: str, *, create: bool):
  import orbax.checkpoint as ocp  # pulled in only by the commands that read/write Orbax

  return ocp, ocp.CheckpointManager(
      paths.absolute(paths.join(directory, "checkpoints")),
      options=ocp.CheckpointManagerOptions(create=create),
      item_handlers={item: ocp.StandardCheckpointHandler()})


def check_empty_target(out: str) -> None:
  """An import never overwrites: DIR must be new or an empty folder."""
  if paths.exists(out) and (not paths.isdir(out) or paths.listdir(out)):
    what = "is a file" if not paths.isdir(out) else "is not empty"
    raise UserError(f"--out {out} {what}; import-weights writes only to a new or empty "
                    "folder (nothing was changed)")


def save_pretrained(out: str, imported: convert.Imported, *, source: str, fmt: str) -> None:
  """Writes DIR (see the module doc) via a sibling temporary folder renamed at the end, so
  an interrupted import leaves no half-written DIR behind. Object stores (gs://) cannot
  rename a folder: DIR is written in place, run.json last, and a DIR without run.json is
  refused by every reader ("not a jaxvision workdir or import-weights output")."""
  check_empty_target(out)
  remote = paths.is_remote(out)
  out = paths.absolute(out)
  tmp = out if remote else f"{out}.partial-{os.getpid()}"
  if not remote:
    shutil.rmtree(tmp, ignore_errors=True)
  variables = dict(imported.variables)
  tree = {"params": variables.pop("params"), "model_state": variables}
  ocp, manager = _manager(tmp, WEIGHTS_ITEM, create=True)
  try:
    manager.save(0, args=ocp.args.Composite(**{WEIGHTS_ITEM: ocp.args.StandardSave(tree)}))
    manager.wait_until_finished()
  finally:
    manager.close()
  info = {"model": imported.model, "num_classes": imported.num_classes,
          "model_settings": imported.model_settings,
          "input_shape": list(models.default_input_shape(imported.model)),
          "pretrained": {"format": fmt, "source": os.path.abspath(source),
                         "preset": presets.preset_for(imported.model)}}
  paths.write_text(paths.join(tmp, RUN_INFO), json.dumps(info, indent=2, sort_keys=True))
  if remote:
    return
  if os.path.isdir(out):  # an empty folder the user made beforehand
    os.rmdir(out)
  os.replace(tmp, out)


def import_weights(fmt: str, model: str, src: str, out: str,
                   transform_input: bool | None = None) -> convert.Imported:
  """Reads SRC, checks it against MODEL, writes DIR; all checks come before any write."""
  check_empty_target(out)
  state_dict = files.load_state_dict_file(src)
  settings = dict(PRETRAINED_SETTINGS.get(model, {}) if fmt == "torchvision" else {})
  if transform_input is not None and model in PRETRAINED_SETTINGS:
    settings["transform_input"] = transform_input
  imported = convert.convert_state_dict(fmt, model, state_dict, settings)
  save_pretrained(out, imported, source=src, fmt=fmt)
  return imported


def import_weights_command(format: str, model: str, src: str, out: str) -> str:  # noqa: A002
  """`jaxvision import-weights`: the one-line message to print on success."""
  imported = import_weights(format, model, src, out)
  count = sum(int(np.size(v)) for v in jax.tree.leaves(imported.variables["params"]))
  settings = "".join(f" --config.model.{k}={v}" for k, v in imported.model_settings.items())
  return (f"imported {format} {model} ({count:,} parameters, {imported.num_classes} classes) "
          f"from {src} into {out}; evaluate with `jaxvision eval --config CONFIG --workdir "
          f"{out}`, fine-tune with --config.init_from={out}"
          + (f" (model settings{settings})" if settings else ""))


def read_run_info(init_dir: str) -> dict:
  path = paths.join(init_dir, RUN_INFO)
  if not paths.exists(path) or paths.isdir(path):
    raise UserError(f"{init_dir} has no {RUN_INFO}: not a jaxvision workdir or import-weights "
                    "output")
  return json.loads(paths.read_text(path))


def apply_preset(config, init_dir: str):
  """A copy of `config` evaluating INIT_DIR's imported weights with their model settings
  and the reference's preprocessing: its crop size and normalisation (the centre view resizes the shorter side
  to crop / 0.875 -- 256 for 224, 342 for 299 -- bilinearly, as torchvision does)."""
  info = read_run_info(init_dir)
  preset = info.get("pretrained", {}).get("preset")
  if not preset:
    return config
  config = config.copy_and_resolve_references()
  with config.unlocked():
    # The settings the weights were made with (e.g. GoogLeNet's transform_input=True).
    for key, value in info.get("model_settings", {}).items():
      config.model[key] = value
    config.data.image_size = int(preset["crop"])
    config.data.resize = "center_crop"
    config.data.mean = tuple(preset["mean"])
    config.data.std = tuple(preset["std"])
  return config


def is_pretrained_dir(workdir: str) -> bool:
  """True for an import-weights folder (its checkpoint is item 'weights', not 'state')."""
  return paths.isdir(paths.join(workdir, "checkpoints", "0", WEIGHTS_ITEM))


def _restore_numpy(workdir: str, item: str):
  ocp, manager = _manager(workdir, item, create=False)
  try:
    step = manager.latest_step()
    if step is None:
      raise UserError(f"no checkpoint in {workdir}/checkpoints")
    stored = manager.item_metadata(step)[item]
    # numpy targets: the caller places the arrays (replicated or sharded) for its own mesh.
    target = jax.tree.map(lambda m: np.empty(m.shape, m.dtype), stored.tree
                          if hasattr(stored, "tree") else stored)
    return manager.restore(step, args=ocp.args.Composite(
        **{item: ocp.args.StandardRestore(target)}))[item]
  finally:
    manager.close()


def load_pretrained(init_dir: str) -> tuple[str, int, dict]:
  """(model name, class count, {'params', 'batch_stats', ...} as numpy) of an import-weights
  folder or of the latest checkpoint of a training workdir (its optimizer state dropped).
  The model's other constructor settings are run.json's 'model_settings'."""
  info = read_run_info(init_dir)
  item = WEIGHTS_ITEM if is_pretrained_dir(init_dir) else STATE_ITEM
  if not paths.isdir(paths.join(init_dir, "checkpoints")):
    raise UserError(f"no checkpoint in {init_dir}/checkpoints")
  tree = _restore_numpy(init_dir, item)
  return info["model"], int(info["num_classes"]), {"params": tree["params"],
                                                   **tree["model_state"]}


def head_modules(model_name: str) -> tuple[str, ...]:
  """The layers whose output is the class count ('classifier_6', 'aux1/fc2', ...): a new
  class count re-initialises them and keeps everything else (the model's spec says which)."""
  if model_name not in models.MODELS:
    raise UserError(f"unknown model {model_name!r}; `jaxvision models` lists them")
  return models.MODELS[model_name].heads


def merge_pretrained(fresh: dict, pretrained: dict, model_name: str) -> tuple[dict, list[str]]:
  """Fresh init variables with every pretrained leaf copied in: (merged, re-initialised).

  A head leaf (head_modules) whose shape differs keeps its fresh init -- fine-tuning on a
  new class count. A leaf missing from `pretrained` (e.g. aux heads the file did not have)
  keeps its fresh init too. Any other difference means another model: UserError.
  """
  heads = tuple(tuple(h.split("/")) for h in head_modules(model_name))
  flat = {tuple(k.key for k in path): leaf
          for path, leaf in jax.tree_util.tree_leaves_with_path(pretrained)}
  fresh_paths = set()
  kept, problems = [], []

  def pick(path, leaf):
    key = tuple(k.key for k in path)
    fresh_paths.add(key)
    name = "/".join(key)
    if key not in flat:
      kept.append(name)
      return leaf
    old = flat[key]
    if tuple(old.shape) == tuple(leaf.shape):
      return np.asarray(old, dtype=leaf.dtype)
    if any(key[1:1 + len(h)] == h for h in heads):
      kept.append(name)
      return leaf
    problems.append(f"{name} pretrained {tuple(old.shape)}, model {tuple(leaf.shape)}")
    return leaf

  merged = jax.tree_util.tree_map_with_path(pick, fresh)
  extra = ["/".join(k) for k in flat if k not in fresh_paths]
  if problems or extra:
    raise UserError(f"pretrained weights do not fit model {model_name}: "
                    + "; ".join(problems[:5] + [f"{e} not in the model" for e in extra[:5]]))
  return merged, kept
