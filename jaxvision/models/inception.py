"""Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture") in torchvision's layout.

299x299 inputs. Stem of 3x3 convs with VALID padding, then Mixed_5b-d (InceptionA, 35x35),
grid reduction Mixed_6a (InceptionB), Mixed_6b-e (InceptionC: 7x7 factorised into 1x7 and
7x1), grid reduction Mixed_7a (InceptionD), Mixed_7b-c (InceptionE: expanded 1x3/3x1
filter banks). Every conv is BasicConv2d (no bias, BatchNorm eps 1e-3, ReLU); average pools
inside modules are 3x3/1 with padding counted in the divisor, as torchvision's F.avg_pool2d.
Auxiliary head on the 17x17 grid: 5x5/3 average pool, 1x1 conv 128, 5x5 conv 768, fc.
Main head: global average pool, dropout 0.5, fc. Names follow torchvision (Conv2d_1a_3x3,
Mixed_5b/branch5x5_1, AuxLogits/conv0, ...).
Trainable parameters at 1000 classes: 27,161,264 with the aux head, 23,834,568 without.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.googlenet import transform_input
from jaxvision.models.registry import ModelSpec


def basic_conv(features, kernel, stride=1, padding=0, *, name, norm, groups, dtype,
               param_dtype, init=layers.conv_init, conv_impl="auto"):
  """torchvision's BasicConv2d for Inception v3 (BatchNorm eps 1e-3)."""
  return layers.ConvNormAct(features, kernel, stride, padding, norm=norm, groups=groups,
                            epsilon=1e-3, kernel_init=init, conv_impl=conv_impl, dtype=dtype,
                            param_dtype=param_dtype, name=name)


class _Block(nn.Module):
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def conv(self, *args, **kwargs):
    return basic_conv(*args, norm=self.norm, groups=self.groups, dtype=self.dtype,
                      param_dtype=self.param_dtype, conv_impl=self.conv_impl, **kwargs)

  def pool_avg(self, x):
    return layers.avg_pool(x, 3, 1, padding=1)


class InceptionA(_Block):
  pool_features: int = 32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    c = self.conv
    b1 = c(64, 1, name="branch1x1")(x, train=train)
    b5 = c(48, 1, name="branch5x5_1")(x, train=train)
    b5 = c(64, 5, padding=2, name="branch5x5_2")(b5, train=train)
    b3 = c(64, 1, name="branch3x3dbl_1")(x, train=train)
    b3 = c(96, 3, padding=1, name="branch3x3dbl_2")(b3, train=train)
    b3 = c(96, 3, padding=1, name="branch3x3dbl_3")(b3, train=train)
    bp = c(self.pool_features, 1, name="branch_pool")(self.pool_avg(x), train=train)
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(_Block):
  """Grid reduction 35 -> 17."""

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    b3 = self.conv(384, 3, 2, name="branch3x3")(x, train=train)
    bd = self.conv(64, 1, name="branch3x3dbl_1")(x, train=train)
    bd = self.conv(96, 3, padding=1, name="branch3x3dbl_2")(bd, train=train)
    bd = self.conv(96, 3, 2, name="branch3x3dbl_3")(bd, train=train)
    bp = layers.max_pool(x, 3, 2)
    return jnp.concatenate([b3, bd, bp], axis=-1)


class InceptionC(_Block):
  channels_7x7: int = 128

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    c7 = self.channels_7x7
    row, col = dict(padding=(0, 3)), dict(padding=(3, 0))  # 1x7 and 7x1 keep the grid.
    b1 = self.conv(192, 1, name="branch1x1")(x, train=train)
    b7 = self.conv(c7, 1, name="branch7x7_1")(x, train=train)
    b7 = self.conv(c7, (1, 7), **row, name="branch7x7_2")(b7, train=train)
    b7 = self.conv(192, (7, 1), **col, name="branch7x7_3")(b7, train=train)
    bd = self.conv(c7, 1, name="branch7x7dbl_1")(x, train=train)
    bd = self.conv(c7, (7, 1), **col, name="branch7x7dbl_2")(bd, train=train)
    bd = self.conv(c7, (1, 7), **row, name="branch7x7dbl_3")(bd, train=train)
    bd = self.conv(c7, (7, 1), **col, name="branch7x7dbl_4")(bd, train=train)
    bd = self.conv(192, (1, 7), **row, name="branch7x7dbl_5")(bd, train=train)
    bp = self.conv(192, 1, name="branch_pool")(self.pool_avg(x), train=train)
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(_Block):
  """Grid reduction 17 -> 8."""

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    b3 = self.conv(192, 1, name="branch3x3_1")(x, train=train)
    b3 = self.conv(320, 3, 2, name="branch3x3_2")(b3, train=train)
    b7 = self.conv(192, 1, name="branch7x7x3_1")(x, train=train)
    b7 = self.conv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7, train=train)
    b7 = self.conv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7, train=train)
    b7 = self.conv(192, 3, 2, name="branch7x7x3_4")(b7, train=train)
    bp = layers.max_pool(x, 3, 2)
    return jnp.concatenate([b3, b7, bp], axis=-1)


class InceptionE(_Block):
  @nn.compact
  def __call__(self, x, *, train: bool = False):
    row, col = dict(padding=(0, 1)), dict(padding=(1, 0))
    b1 = self.conv(320, 1, name="branch1x1")(x, train=train)
    b3 = self.conv(384, 1, name="branch3x3_1")(x, train=train)
    b3 = jnp.concatenate([
        self.conv(384, (1, 3), **row, name="branch3x3_2a")(b3, train=train),
        self.conv(384, (3, 1), **col, name="branch3x3_2b")(b3, train=train)], axis=-1)
    bd = self.conv(448, 1, name="branch3x3dbl_1")(x, train=train)
    bd = self.conv(384, 3, padding=1, name="branch3x3dbl_2")(bd, train=train)
    bd = jnp.concatenate([
        self.conv(384, (1, 3), **row, name="branch3x3dbl_3a")(bd, train=train),
        self.conv(384, (3, 1), **col, name="branch3x3dbl_3b")(bd, train=train)], axis=-1)
    bp = self.conv(192, 1, name="branch_pool")(self.pool_avg(x), train=train)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionAux(_Block):
  num_classes: int = 1000

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    x = layers.avg_pool(x, 5, 3)
    x = self.conv(128, 1, name="conv0")(x, train=train)
    # torchvision's small inits for this head (stddev 0.01 and 0.001).
    x = self.conv(768, 5, name="conv1",
                  init=nn.initializers.truncated_normal(0.01))(x, train=train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, kernel_init=nn.initializers.truncated_normal(0.001),
                    dtype=self.dtype, param_dtype=self.param_dtype, name="fc")(x)


class InceptionV3(nn.Module):
  """Returns logits, or (logits, (aux,)) when train and aux_logits.

  transform_input: torchvision's re-normalisation used by its checkpoint (see googlenet).
  """

  num_classes: int = 1000
  aux_logits: bool = True
  transform_input: bool = False
  dropout_rate: float = 0.5
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(norm=self.norm, groups=self.groups, conv_impl=self.conv_impl, dtype=self.dtype,
              param_dtype=self.param_dtype)
    conv = functools.partial(basic_conv, **kw)
    x = x.astype(self.dtype)
    if self.transform_input:
      x = transform_input(x)
    x = conv(32, 3, 2, name="Conv2d_1a_3x3")(x, train=train)
    x = conv(32, 3, name="Conv2d_2a_3x3")(x, train=train)
    x = conv(64, 3, padding=1, name="Conv2d_2b_3x3")(x, train=train)
    x = layers.max_pool(x, 3, 2)
    x = conv(80, 1, name="Conv2d_3b_1x1")(x, train=train)
    x = conv(192, 3, name="Conv2d_4a_3x3")(x, train=train)
    x = layers.max_pool(x, 3, 2)
    x = InceptionA(pool_features=32, name="Mixed_5b", **kw)(x, train=train)
    x = InceptionA(pool_features=64, name="Mixed_5c", **kw)(x, train=train)
    x = InceptionA(pool_features=64, name="Mixed_5d", **kw)(x, train=train)
    x = InceptionB(name="Mixed_6a", **kw)(x, train=train)
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160),
                     ("Mixed_6e", 192)):
      x = InceptionC(channels_7x7=c7, name=name, **kw)(x, train=train)
    aux = ()
    if self.aux_logits:
      head = InceptionAux(num_classes=self.num_classes, name="AuxLogits", **kw)
      if train:
        aux = (head(x, train=train),)
      elif self.is_initializing():  # Create the head's params; never run in eval.
        head(x, train=train)
    x = InceptionD(name="Mixed_7a", **kw)(x, train=train)
    x = InceptionE(name="Mixed_7b", **kw)(x, train=train)
    x = InceptionE(name="Mixed_7c", **kw)(x, train=train)
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                 name="fc")(x)
    return (x, aux) if train and self.aux_logits else x


MODELS = {
    "inception_v3": ModelSpec(InceptionV3, (299, 299, 3),
                              "Inception v3, torchvision layout, 299x299, auxiliary head",
                              heads=("fc", "AuxLogits/fc")),
}
