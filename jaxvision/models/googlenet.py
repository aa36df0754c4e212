"""GoogLeNet (Szegedy et al. 2015) in torchvision's layout, and BN-Inception (Ioffe & Szegedy 2015).

GoogLeNet follows torchvision exactly so its checkpoint loads: every conv is BasicConv2d
(conv without bias, BatchNorm eps 1e-3, ReLU) -- BatchNorm the 2014 paper did not have --,
max-pools round up (ceil_mode), and branch 3 of each Inception module is a 3x3 conv where
the paper has 5x5 (a known torchvision quirk, pytorch/vision#906; its weights are 3x3).
Auxiliary heads after 4a and 4d: 4x4 adaptive average pool, 1x1 conv to 128, fc 1024, ReLU,
dropout 0.7, fc. Their loss weight (0.3) belongs to the objective. Main head: global average
pool, dropout 0.4 (the paper's; torchvision uses 0.2), fc.
Trainable parameters at 1000 classes: 6,624,904 without aux heads, 13,004,888 with.

BN-Inception follows Figure 5 of the BatchNorm paper: each 5x5 becomes two 3x3 convs, BN
after every conv, 3c and 4e reduce the grid with stride-2 3x3 convs beside a max-pool
pass-through, 5b pools with max instead of average. The figure prints 576 channels after
4c; its own columns sum to 608 (160+160+160+128), which the released Caffe model also
has, so 4d reads 608 and 4e outputs 1056. No dropout and no auxiliary heads (the paper's
accelerated network removed dropout); convs have no bias, since BN follows. The stem is a
plain 7x7/2 conv as in the publicly released BN-Inception weights; Google's own network
made that first layer depthwise-separable (figure 5's starred row; see the Xception paper).
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.registry import ModelSpec

# torchvision's table: name, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3), pool proj.
GOOGLENET_TABLE = (
    ("inception3a", 64, 96, 128, 16, 32, 32),
    ("inception3b", 128, 128, 192, 32, 96, 64),
    ("inception4a", 192, 96, 208, 16, 48, 64),
    ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64),
    ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128),
    ("inception5a", 256, 160, 320, 32, 128, 128),
    ("inception5b", 384, 192, 384, 48, 128, 128),
)


class _Base(nn.Module):
  """Shared attributes and the conv-BN-ReLU factory of both networks."""

  num_classes: int = 1000
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def conv(self, features, kernel, stride=1, padding=0, *, name):
    return layers.ConvNormAct(features, kernel, stride, padding, norm=self.norm,
                              groups=self.groups, epsilon=1e-3, conv_impl=self.conv_impl,
                              dtype=self.dtype,
                              param_dtype=self.param_dtype, name=name)


class Inception(_Base):
  ch1x1: int = 64
  ch3x3red: int = 96
  ch3x3: int = 128
  ch5x5red: int = 16
  ch5x5: int = 32
  pool_proj: int = 32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    b1 = self.conv(self.ch1x1, 1, name="branch1")(x, train=train)
    b2 = self.conv(self.ch3x3red, 1, name="branch2_0")(x, train=train)
    b2 = self.conv(self.ch3x3, 3, padding=1, name="branch2_1")(b2, train=train)
    b3 = self.conv(self.ch5x5red, 1, name="branch3_0")(x, train=train)
    b3 = self.conv(self.ch5x5, 3, padding=1, name="branch3_1")(b3, train=train)
    b4 = layers.max_pool(x, 3, 1, padding=1, ceil_mode=True)
    b4 = self.conv(self.pool_proj, 1, name="branch4_1")(b4, train=train)
    return jnp.concatenate([b1, b2, b3, b4], axis=-1)


class InceptionAux(_Base):
  dropout_rate: float = 0.7

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    x = layers.adaptive_avg_pool(x, 4)
    x = self.conv(128, 1, name="conv")(x, train=train)
    x = nn.relu(dense(1024, name="fc1")(layers.flatten_chw(x)))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return dense(self.num_classes, name="fc2")(x)


class GoogLeNet(_Base):
  """Returns logits, or (logits, (aux1, aux2)) when train and aux_logits.

  transform_input: torchvision's re-normalisation for its TF-ported checkpoint (inputs
  normalised with ImageNet mean/std are mapped to (x - 0.5) / 0.5); set it when importing.
  """

  aux_logits: bool = True
  transform_input: bool = False
  dropout_rate: float = 0.4

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    x = x.astype(self.dtype)
    if self.transform_input:
      x = transform_input(x)
    kw = dict(norm=self.norm, groups=self.groups, conv_impl=self.conv_impl, dtype=self.dtype,
              param_dtype=self.param_dtype)
    x = self.conv(64, 7, 2, 3, name="conv1")(x, train=train)
    x = layers.max_pool(x, 3, 2, ceil_mode=True)
    x = self.conv(64, 1, name="conv2")(x, train=train)
    x = self.conv(192, 3, padding=1, name="conv3")(x, train=train)
    x = layers.max_pool(x, 3, 2, ceil_mode=True)
    aux = []
    for name, *widths in GOOGLENET_TABLE:
      widths = dict(zip(("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj"),
                        widths))
      x = Inception(name=name, **widths, **kw)(x, train=train)
      if name == "inception3b":
        x = layers.max_pool(x, 3, 2, ceil_mode=True)
      elif name == "inception4e":
        x = layers.max_pool(x, 2, 2, ceil_mode=True)
      if self.aux_logits and name in ("inception4a", "inception4d"):
        head_name = "aux1" if name == "inception4a" else "aux2"
        head = InceptionAux(num_classes=self.num_classes, name=head_name, **kw)
        if train:
          aux.append(head(x, train=train))
        elif self.is_initializing():  # Create the heads' params; never run in eval.
          head(x, train=train)
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                 name="fc")(x)
    return (x, tuple(aux)) if train and self.aux_logits else x


def transform_input(x):
  """torchvision's `transform_input`: ImageNet-normalised RGB -> (x - 0.5) / 0.5 scale."""
  mean = jnp.asarray((0.485, 0.456, 0.406), x.dtype)
  std = jnp.asarray((0.229, 0.224, 0.225), x.dtype)
  return x * (std / 0.5) + (mean - 0.5) / 0.5


# Figure 5 of Ioffe & Szegedy: name, 1x1, 3x3 reduce, 3x3, double-3x3 reduce, double 3x3,
# pool ('avg' | 'max'), pool projection (0: pass-through), stride.
BN_INCEPTION_TABLE = (
    ("inception3a", 64, 64, 64, 64, 96, "avg", 32, 1),
    ("inception3b", 64, 64, 96, 64, 96, "avg", 64, 1),
    ("inception3c", 0, 128, 160, 64, 96, "max", 0, 2),
    ("inception4a", 224, 64, 96, 96, 128, "avg", 128, 1),
    ("inception4b", 192, 96, 128, 96, 128, "avg", 128, 1),
    ("inception4c", 160, 128, 160, 128, 160, "avg", 128, 1),
    ("inception4d", 96, 128, 192, 160, 192, "avg", 128, 1),
    ("inception4e", 0, 128, 192, 192, 256, "max", 0, 2),
    ("inception5a", 352, 192, 320, 160, 224, "avg", 128, 1),
    ("inception5b", 352, 192, 320, 192, 224, "max", 128, 1),
)


class InceptionBN(_Base):
  """One BN-Inception module; stride 2 drops the 1x1 branch and passes the pool through."""

  ch1x1: int = 64
  ch3x3red: int = 64
  ch3x3: int = 64
  dbl_red: int = 64
  dbl: int = 96
  pool: str = "avg"
  pool_proj: int = 32
  stride: int = 1

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    s = self.stride
    outs = []
    if self.ch1x1:
      outs.append(self.conv(self.ch1x1, 1, name="branch1x1")(x, train=train))
    b = self.conv(self.ch3x3red, 1, name="branch3x3_reduce")(x, train=train)
    outs.append(self.conv(self.ch3x3, 3, s, 1, name="branch3x3")(b, train=train))
    b = self.conv(self.dbl_red, 1, name="double3x3_reduce")(x, train=train)
    b = self.conv(self.dbl, 3, 1, 1, name="double3x3_1")(b, train=train)
    outs.append(self.conv(self.dbl, 3, s, 1, name="double3x3_2")(b, train=train))
    if s == 1:
      pool = layers.max_pool if self.pool == "max" else layers.avg_pool
      b = pool(x, 3, 1, padding=1, ceil_mode=True)
      outs.append(self.conv(self.pool_proj, 1, name="pool_proj")(b, train=train))
    else:
      outs.append(layers.max_pool(x, 3, 2, ceil_mode=True))
    return jnp.concatenate(outs, axis=-1)


class BNInception(_Base):
  @nn.compact
  def __call__(self, x, *, train: bool = False):
    x = x.astype(self.dtype)
    kw = dict(norm=self.norm, groups=self.groups, conv_impl=self.conv_impl, dtype=self.dtype,
              param_dtype=self.param_dtype)
    x = self.conv(64, 7, 2, 3, name="conv1")(x, train=train)
    x = layers.max_pool(x, 3, 2, ceil_mode=True)
    x = self.conv(64, 1, name="conv2_reduce")(x, train=train)
    x = self.conv(192, 3, padding=1, name="conv2")(x, train=train)
    x = layers.max_pool(x, 3, 2, ceil_mode=True)
    fields = ("ch1x1", "ch3x3red", "ch3x3", "dbl_red", "dbl", "pool", "pool_proj", "stride")
    for name, *settings in BN_INCEPTION_TABLE:
      x = InceptionBN(name=name, **dict(zip(fields, settings)), **kw)(x, train=train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                    name="fc")(x)


MODELS = {
    "googlenet": ModelSpec(GoogLeNet, (224, 224, 3),
                           "GoogLeNet / Inception v1, torchvision layout (BN, 3x3 branch 3), "
                           "2 auxiliary heads", heads=("fc", "aux1/fc2", "aux2/fc2")),
    "bn_inception": ModelSpec(BNInception, (224, 224, 3),
                              "BN-Inception (Ioffe & Szegedy 2015): 5x5 -> two 3x3, BN "
                              "everywhere"),
}
