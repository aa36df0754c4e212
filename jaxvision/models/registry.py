"""The model table: registry names -> how to build the module and its default input.

Variants are data: each model file exports `MODELS`, a dict of name -> ModelSpec, and
`jaxvision.models` merges them. Nothing here imports data, optax or configs.
"""

import dataclasses
import difflib
from typing import Any, Callable

import flax.linen as nn


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """How to build one registered model.

  build: a module class or functools.partial; called with keyword overrides.
  input_shape: default (height, width, channels), used for summaries and FLOPs.
  heads: the submodules (flax paths, '/'-joined) whose output is the class count, auxiliary
    heads included: fine-tuning on another class count re-initialises them and keeps the rest.
  """

  build: Callable[..., nn.Module]
  input_shape: tuple[int, int, int]
  description: str = ""
  heads: tuple[str, ...] = ("fc",)


def unknown_model_error(name: str, known: list[str]) -> KeyError:
  close = difflib.get_close_matches(name, known, n=3)
  hint = f" Did you mean {', '.join(close)}?" if close else ""
  return KeyError(
      f"unknown model {name!r}.{hint} Valid names: {', '.join(sorted(known))}")


def build(table: dict[str, ModelSpec], name: str, **kwargs: Any) -> nn.Module:
  if name not in table:
    raise unknown_model_error(name, list(table))
  return table[name].build(**kwargs)
