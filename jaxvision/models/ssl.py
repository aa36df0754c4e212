"""Self-supervised wrappers around a zoo backbone: rotation prediction and SimCLR.

Each wrapper keeps the backbone as the submodule "encoder", built from the zoo with
`head=False`, so its params subtree is exactly the zoo classifier's minus the classifier layer
(`--config.init_from=SSL_WORKDIR` fine-tunes the zoo model from it), and has
`features(x, *, train=False) -> (N, D)`, the pooled backbone output that the "representation"
evaluator probes.

Config: `model.name` picks the wrapper, `model.encoder` the zoo backbone, and every other
`model.*` key that the wrapper does not take goes to the backbone, e.g.
`model = {name: "simclr", encoder: "resnet20", stages: (1, 1, 1)}`.

`num_classes` is the width of the wrapper's output, the attribute every model has: 4 for the
rotation head, the projection width for SimCLR. The dataset's class count that the train loop
passes in is not used (pre-training sees no labels).

- Rotation (Gidaris, Singh, Komodakis 2018): a linear 4-way classifier on the pooled
  features. RotNet's NiN put a whole conv block on top of the probed layer; here the probed
  layer is the backbone's pooled output and the head is linear, so one backbone serves every
  SSL method alike.
- SimCLR (Chen et al. 2020, sec. 2.1): g(h) = W2 relu(W1 h), hidden width = feature width,
  output 128. `head_bn=True` adds batch norm after each layer as SimCLR's released code does
  (the paper's equation has none; default off).
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models.registry import ModelSpec


class PretextNet(nn.Module):
  """The encoder and one linear layer of `num_classes` logits, the head of the pretext tasks
  that classify a transformation (rotation here, flips in jaxvision.models.jigsaw).
  `head_name` keeps each task's parameter name ('rotation_head', 'flip_head')."""

  encoder: nn.Module
  num_classes: int = 4
  head_name: str = "rotation_head"
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def features(self, x, *, train: bool = False):
    return self.encoder(x, train=train)

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    h = self.features(x, train=train)
    return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                    name=self.head_name)(h)


RotationNet = PretextNet  # RotNet's name for it


class SimCLRNet(nn.Module):
  encoder: nn.Module
  num_classes: int = 128  # the projection width (SimCLR: 128)
  hidden: int = 0  # 0: the feature width, as in SimCLR
  head_bn: bool = False
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def features(self, x, *, train: bool = False):
    return self.encoder(x, train=train)

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    h = self.features(x, train=train)
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype,
                              use_bias=not self.head_bn)
    norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9,
                             epsilon=1e-5, use_fast_variance=False, dtype=self.dtype,
                             param_dtype=self.param_dtype)
    z = dense(self.hidden or h.shape[-1], name="proj_fc1")(h)
    if self.head_bn:
      z = norm(name="proj_bn1")(z)
    z = dense(self.num_classes, name="proj_fc2")(nn.relu(z))
    if self.head_bn:  # SimCLR code: the output BN has no learned shift (center=False)
      z = norm(name="proj_bn2", use_bias=False)(z)
    return z


def backbone(encoder: str, dtype, settings) -> nn.Module:
  """The zoo model `encoder` without its classifier, for a method wrapper's "encoder"."""
  from jaxvision.models.registry import build
  from jaxvision.models.zoo import CLASSIFIERS  # not jaxvision.models: it imports this file

  if encoder not in CLASSIFIERS:
    raise ValueError(f"model.encoder={encoder!r} is not a zoo backbone (it is a method's "
                     "model, or unknown); name one such as resnet20, resnet18 or nin "
                     "(`jaxvision models` lists them)")
  try:
    # Passed as the wrapper's `encoder` attribute, Flax names the submodule "encoder".
    return build(CLASSIFIERS, encoder, head=False, dtype=dtype, **settings)
  except TypeError as e:
    raise ValueError(f"model.encoder={encoder!r} has no head=False (pooled features) "
                     f"variant or does not take {sorted(settings)}: {e}") from None


def rotation_net(*, encoder: str = "resnet20", num_classes: int = 10, dtype=jnp.float32,
                 **encoder_settings) -> RotationNet:
  del num_classes  # the dataset's classes; the rotation head always has 4
  return PretextNet(encoder=backbone(encoder, dtype, encoder_settings), num_classes=4,
                    head_name="rotation_head", dtype=dtype)


def simclr_net(*, encoder: str = "resnet20", num_classes: int = 10, dtype=jnp.float32,
               proj_dim: int = 128, proj_hidden: int = 0, head_bn: bool = False,
               **encoder_settings) -> SimCLRNet:
  del num_classes  # the dataset's classes; the output is the projection
  return SimCLRNet(encoder=backbone(encoder, dtype, encoder_settings), num_classes=proj_dim,
                   hidden=proj_hidden, head_bn=head_bn, dtype=dtype)


MODELS = {
    "rotnet": ModelSpec(rotation_net, (32, 32, 3),
                        "Rotation prediction (RotNet): model.encoder + linear 4-way head"),
    "simclr": ModelSpec(simclr_net, (32, 32, 3),
                        "SimCLR: model.encoder + 2-layer MLP projection to 128"),
}
