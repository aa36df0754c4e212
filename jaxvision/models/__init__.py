"""Flax linen modules of the lineage; `get_model(name, **kw)` builds one by name.

Contract (every model): construction settings are module attributes (`num_classes`,
`dtype` for compute, `param_dtype` for storage); `__call__(x, *, train)` takes NHWC images
(classifiers return logits); BatchNorm statistics live in the `batch_stats` collection.
"""

from typing import Any

import flax.linen as nn

from jaxvision.models import clip, jigsaw, mae, ssl, trinet
from jaxvision.models.registry import ModelSpec, build, unknown_model_error
from jaxvision.models.zoo import CLASSIFIERS


def _merge(*modules) -> dict[str, ModelSpec]:
  table = {}
  for module in modules:
    table.update(module.MODELS)
  return table


# Image classifiers (models/zoo.py): images -> logits; `jaxvision models` lists them.
# The models of a training method, built around zoo backbones: MAE, CLIP (image-text), the
# pretext-task nets (jigsaw, flip), Tri-Net's shared trunk with three heads, and the
# self-supervised wrappers (rotation, SimCLR). Their outputs are what their objective needs.
METHOD_MODELS = _merge(mae, clip, jigsaw, trinet, ssl)
MODELS: dict[str, ModelSpec] = {**CLASSIFIERS, **METHOD_MODELS}


def get_model(name: str, **kwargs: Any) -> nn.Module:
  """Builds the registered model `name`; KeyError (listing valid names) if unknown."""
  return build(MODELS, name, **kwargs)


def list_models() -> list[str]:
  return sorted(MODELS)


def default_input_shape(name: str) -> tuple[int, int, int]:
  if name not in MODELS:
    raise unknown_model_error(name, list(MODELS))
  return MODELS[name].input_shape


__all__ = ["MODELS", "ModelSpec", "get_model", "list_models", "default_input_shape"]
