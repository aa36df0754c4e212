"""Flax linen modules of the lineage; `get_model(name, **kw)` builds one by name.

Contract (every model): construction settings are module attributes (`num_classes`,
`dtype` for compute, `param_dtype` for storage); `__call__(x, *, train)` takes NHWC images and
returns logits; BatchNorm statistics live in the `batch_stats` collection.
"""

from typing import Any

import flax.linen as nn

from jaxvision.models import alexnet, googlenet, inception, lenet, mae, nin, resnet, vgg, vit
from jaxvision.models.registry import ModelSpec, build, unknown_model_error

MODELS: dict[str, ModelSpec] = {}
for _module in (lenet, alexnet, vgg, nin, googlenet, inception, resnet, vit, mae):
  MODELS.update(_module.MODELS)
# CLIP (image-text) registers after the image zoo it builds on.
from jaxvision.models import clip as _clip  # noqa: E402

MODELS.update(_clip.MODELS)

# Pretext-task nets (jigsaw puzzles, flip prediction) wrap a zoo backbone too.
from jaxvision.models import jigsaw as _jigsaw  # noqa: E402

MODELS.update(_jigsaw.MODELS)
# Tri-Net: a shared trunk and three heads (semi-supervised).
from jaxvision.models import trinet as _trinet  # noqa: E402

MODELS.update(_trinet.MODELS)

# Self-supervised wrappers (rotation prediction, SimCLR) around a zoo backbone.
from jaxvision.models import ssl as _ssl  # noqa: E402

MODELS.update(_ssl.MODELS)


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
