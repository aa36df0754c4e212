"""PyTorch state dicts (torchvision, timm) -> Flax variables of the jaxvision model of that name.

The jaxvision models name their layers as torchvision does with '.' -> '_' for Sequential
indices (layer1.0.downsample.1 -> layer1_0/downsample_1), so the mapping is derived from the
model itself: every leaf of the model's variable tree has exactly one PyTorch name, and the
file must hold exactly those names with exactly those shapes -- anything else is a wrong
file and a UserError, never a partial load.

Layouts: conv weight OIHW -> kernel HWIO; linear weight (out, in) -> kernel (in, out), also
for fc6 of AlexNet/VGG and GoogLeNet's aux fc1, whose input the models flatten in PyTorch's
(C, H, W) order; timm's SE fc1/fc2 are 1x1 convs (out, in, 1, 1) -> Dense kernel (in, out);
BatchNorm weight/bias -> params scale/bias, running_mean/var -> batch_stats mean/var;
num_batches_tracked (a training counter) is ignored.
"""

import dataclasses
import re
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision import models
from jaxvision.errors import UserError

TORCHVISION_MODELS = (
    "alexnet", *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")),
    "googlenet", "inception_v3", *(f"resnet{d}" for d in (18, 34, 50, 101, 152)))
# jaxvision name -> timm's name (its SE-ResNets: SE after the last BN of each block, hidden
# width rounded to a multiple of 8, the layout jaxvision's se_resnet* follow).
TIMM_MODELS = {"se_resnet18": "seresnet18", "se_resnet50": "seresnet50"}
# The classifier whose row count is the class count, and the auxiliary heads the reference
# may leave out (torchvision's aux_logits=False drops them from the state dict).
HEADS = {"alexnet": "classifier.6", "vgg": "classifier.6"}
AUX_HEADS = {"googlenet": ("aux1", "aux2"), "inception_v3": ("AuxLogits",)}
# Sequential containers: their index joins the container name with '_' in jaxvision
# (layer1_0, downsample_1, features_3, googlenet's branch2_0); other '_<n>' names are
# attributes that keep the underscore in PyTorch too (branch5x5_1, Conv2d_1a_3x3).
_SEQUENTIAL = re.compile(r"^(features|classifier|layer\d|downsample|branch\d)_(\d+)$")
# (collection, flax leaf) -> PyTorch parameter or buffer name.
_LEAF = {("params", "kernel"): "weight", ("params", "scale"): "weight",
         ("params", "bias"): "bias", ("batch_stats", "mean"): "running_mean",
         ("batch_stats", "var"): "running_var"}
_SHOWN = 5  # offending names listed per kind of problem


@dataclasses.dataclass(frozen=True)
class Imported:
  """variables for get_model(model, num_classes=num_classes, **model_settings)."""

  model: str
  num_classes: int
  model_settings: dict
  variables: dict


def torch_name(path: tuple[str, ...]) -> str:
  """('params', 'layer1_0', 'downsample_1', 'scale') -> 'layer1.0.downsample.1.weight'."""
  parts = []
  for module in path[1:-1]:
    match = _SEQUENTIAL.match(module)
    parts.extend(match.groups() if match else (module,))
  return ".".join(parts + [_LEAF[(path[0], path[-1])]])


@dataclasses.dataclass(frozen=True)
class _Slot:
  """Where one PyTorch tensor goes, the shape it must have there, and how it is laid out."""

  path: tuple[str, ...]
  torch_shape: tuple[int, ...]
  to_flax: Callable[[np.ndarray], np.ndarray]


def _slot(path, shape, conv_as_linear: bool) -> _Slot:
  if path[-1] == "kernel" and len(shape) == 4:  # HWIO <- OIHW
    h, w, i, o = shape
    return _Slot(path, (o, i, h, w), lambda a: np.transpose(a, (2, 3, 1, 0)))
  if path[-1] == "kernel" and len(shape) == 2:  # (in, out) <- (out, in)
    i, o = shape
    if conv_as_linear:  # a 1x1 conv in the reference, a Dense here
      return _Slot(path, (o, i, 1, 1), lambda a: a.reshape(o, i).T)
    return _Slot(path, (o, i), lambda a: a.T)
  return _Slot(path, tuple(shape), lambda a: a)


def expected_slots(model_name: str, num_classes: int, model_settings: dict,
                   conv_as_linear: Callable[[str], bool] = lambda name: False
                   ) -> dict[str, _Slot]:
  """PyTorch name -> slot for every variable of the model (shapes only, nothing computed)."""
  model = models.get_model(model_name, num_classes=num_classes, **model_settings)
  shape = (1, *models.default_input_shape(model_name))
  rng = jax.random.key(0)
  abstract = jax.eval_shape(
      lambda r: model.init({"params": r, "dropout": r}, jnp.zeros(shape), train=False), rng)
  slots = {}
  for key_path, leaf in jax.tree_util.tree_leaves_with_path(abstract):
    path = tuple(k.key for k in key_path)
    name = torch_name(path)
    slots[name] = _slot(path, leaf.shape, conv_as_linear(name))
  return slots


def _problems(slots: dict[str, _Slot], state_dict: dict[str, Any]) -> list[str]:
  ignored = {n for n in state_dict if n.endswith(".num_batches_tracked")
             and n[:-len("num_batches_tracked")] + "running_mean" in slots}
  missing = [n for n in slots if n not in state_dict]
  unexpected = [n for n in state_dict if n not in slots and n not in ignored]
  wrong = [n for n in slots if n in state_dict
           and tuple(np.shape(state_dict[n])) != slots[n].torch_shape]
  lines = []
  for kind, names, describe in (
      ("missing", missing, lambda n: f"{n} expected {slots[n].torch_shape}, found none"),
      ("unexpected", unexpected,
       lambda n: f"{n} expected none, found {tuple(np.shape(state_dict[n]))}"),
      ("wrong shape", wrong, lambda n: f"{n} expected {slots[n].torch_shape}, found "
                                       f"{tuple(np.shape(state_dict[n]))}")):
    if names:
      more = f" (and {len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
      lines.append(f"{len(names)} {kind}: " + "; ".join(map(describe, names[:_SHOWN])) + more)
  return lines


def _fill(slots: dict[str, _Slot], state_dict: dict[str, Any]) -> dict:
  variables: dict = {}
  for name, slot in slots.items():
    array = np.asarray(state_dict[name])
    if not np.issubdtype(array.dtype, np.floating):
      raise UserError(f"{name} holds {array.dtype} values; weights must be floating point")
    node = variables
    for key in slot.path[:-1]:
      node = node.setdefault(key, {})
    # float32 storage whatever the file's precision (F16/BF16 files widen exactly).
    node[slot.path[-1]] = np.ascontiguousarray(slot.to_flax(array), dtype=np.float32)
  return variables


def _class_count(state_dict, head: str) -> int:
  weight = state_dict.get(f"{head}.weight")
  # Without a head the model is built at 1000 classes and the check reports what is missing.
  return int(np.shape(weight)[0]) if weight is not None and np.ndim(weight) >= 1 else 1000


def convert_state_dict(fmt: str, model_name: str, state_dict: dict[str, Any],
            model_settings: Optional[dict] = None) -> Imported:
  """The checked conversion behind from_torchvision/from_timm; fmt 'torchvision' | 'timm'.

  model_settings: extra constructor settings (e.g. transform_input); the class count and,
  for GoogLeNet/Inception v3, aux_logits are read from the state dict.
  """
  settings = dict(model_settings or {})
  if fmt == "torchvision":
    if model_name not in TORCHVISION_MODELS:
      raise UserError(f"no torchvision import for model {model_name!r}; supported: "
                      f"{', '.join(TORCHVISION_MODELS)}")
    conv_as_linear = lambda name: False
  elif fmt == "timm":
    if model_name not in TIMM_MODELS:
      raise UserError(f"no timm import for model {model_name!r}; supported: "
                      + ", ".join(f"{k} (timm {v})" for k, v in TIMM_MODELS.items()))
    conv_as_linear = lambda name: re.search(r"\.se\.fc[12]\.weight$", name) is not None
  else:
    raise UserError(f"unknown weights format {fmt!r}; use torchvision or timm")
  head = HEADS.get(re.sub(r"\d.*$", "", model_name), "fc")
  num_classes = _class_count(state_dict, head)
  if model_name in AUX_HEADS:
    settings.setdefault("aux_logits", any(n.startswith(f"{AUX_HEADS[model_name][0]}.")
                                          for n in state_dict))
  slots = expected_slots(model_name, num_classes, settings, conv_as_linear)
  problems = _problems(slots, state_dict)
  if problems:
    raise UserError(f"these weights do not fit {fmt} {model_name} ({num_classes} classes): "
                    + " | ".join(problems) + "; is it the right file and --model?")
  return Imported(model_name, num_classes, settings, _fill(slots, state_dict))


def from_torchvision(name: str, state_dict: dict[str, Any]) -> dict:
  """{'params', 'batch_stats'} for get_model(name, num_classes=K) from a torchvision
  state dict (K = the classifier's row count). GoogLeNet/Inception v3 without aux heads in
  the file give variables without them: eval needs none."""
  return convert_state_dict("torchvision", name, state_dict).variables


def from_timm(name: str, state_dict: dict[str, Any]) -> dict:
  """As from_torchvision, for timm's layout of `name` (se_resnet50 <- timm seresnet50)."""
  return convert_state_dict("timm", name, state_dict).variables
