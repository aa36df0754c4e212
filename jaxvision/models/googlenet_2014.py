"""GoogLeNet as published (Szegedy et al. 2015, "Going deeper with convolutions", Table 1).

torchvision's `googlenet` (models/googlenet.py) is a later, batch-normalised re-training; this
is the 2014 network: every convolution has a bias and is followed by ReLU, no batch norm;
branch 3 of each Inception module is the paper's 5x5 (pad 2); local response normalisation
after the stem's first max pool and after conv2's 3x3 (Figure 3); max pools 3x3/2 (rounding
up, as the Caffe reproduction). Main head: 7x7 average pool, dropout 0.4, linear.
Auxiliary heads after 4a and 4d (sec. 5): 5x5 average pool stride 3 (14x14 -> 4x4), 1x1
conv to 128 + ReLU, fc 1024 + ReLU, dropout 0.7, linear; their loss weight 0.3 belongs to
the objective, and they run only in training.

Not in the paper, taken from the BVLC Caffe reproduction (bvlc_googlenet): the LRN
constants (Caffe's local_size 5, alpha 1e-4, beta 0.75, k 1; Caffe divides alpha by the
window, so the paper-convention alpha here is 2e-5) and the initialisation (Glorot-uniform
weights, Caffe's 'xavier' with fan-in; biases 0.2, the classifiers' 0).
Trainable parameters at 1000 classes: 6,998,552 without the auxiliary heads, 13,378,280 with.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.googlenet import GOOGLENET_TABLE  # the same widths as Table 1
from jaxvision.models.registry import ModelSpec

xavier = nn.initializers.variance_scaling(1.0, "fan_in", "uniform")


def _lrn(x):
  return layers.local_response_norm(x, size=5, k=1.0, alpha=1e-4 / 5, beta=0.75)


class _Conv(nn.Module):
  """conv (with bias) -> ReLU, the only conv unit of the 2014 network."""

  features: int
  kernel: int
  stride: int = 1
  padding: int = 0
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel, self.stride
    return nn.relu(nn.Conv(self.features, (k, k), (s, s),
                           padding=layers.torch_padding(self.padding), kernel_init=xavier,
                           bias_init=nn.initializers.constant(0.2), dtype=self.dtype,
                           param_dtype=self.param_dtype,
                           conv_general_dilated=conv_function(self.conv_impl), name="conv")(x))


class Inception2014(nn.Module):
  ch1x1: int
  ch3x3red: int
  ch3x3: int
  ch5x5red: int
  ch5x5: int
  pool_proj: int
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(_Conv, dtype=self.dtype, param_dtype=self.param_dtype,
                             conv_impl=self.conv_impl)
    b1 = conv(self.ch1x1, 1, name="branch1")(x)
    b2 = conv(self.ch3x3, 3, padding=1, name="branch2_1")(
        conv(self.ch3x3red, 1, name="branch2_0")(x))
    b3 = conv(self.ch5x5, 5, padding=2, name="branch3_1")(
        conv(self.ch5x5red, 1, name="branch3_0")(x))
    b4 = layers.max_pool(x, 3, 1, padding=1, ceil_mode=True)
    b4 = conv(self.pool_proj, 1, name="branch4_1")(b4)
    return jnp.concatenate([b1, b2, b3, b4], axis=-1)


class AuxHead2014(nn.Module):
  num_classes: int = 1000
  dropout_rate: float = 0.7
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    conv = functools.partial(_Conv, conv_impl=self.conv_impl, **kw)
    x = layers.avg_pool(x, 5, 3)
    x = conv(128, 1, name="conv")(x)
    x = x.reshape(x.shape[0], -1)
    x = nn.relu(nn.Dense(1024, kernel_init=xavier, bias_init=nn.initializers.constant(0.2),
                         name="fc1", **kw)(x))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes, kernel_init=xavier, name="fc2", **kw)(x)


class GoogLeNet2014(nn.Module):
  """Returns logits, or (logits, (aux1, aux2)) when train and aux_logits (as `googlenet`)."""

  num_classes: int = 1000
  aux_logits: bool = True
  dropout_rate: float = 0.4
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    conv = functools.partial(_Conv, conv_impl=self.conv_impl, **kw)
    x = x.astype(self.dtype)
    x = conv(64, 7, 2, 3, name="conv1")(x)
    x = _lrn(layers.max_pool(x, 3, 2, ceil_mode=True))
    x = conv(64, 1, name="conv2_reduce")(x)
    x = _lrn(conv(192, 3, padding=1, name="conv2")(x))
    x = layers.max_pool(x, 3, 2, ceil_mode=True)
    aux = []
    fields = ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
    for name, *widths in GOOGLENET_TABLE:
      x = Inception2014(**dict(zip(fields, widths)), name=name, conv_impl=self.conv_impl,
                        **kw)(x)
      if name in ("inception3b", "inception4e"):
        x = layers.max_pool(x, 3, 2, ceil_mode=True)
      if self.aux_logits and name in ("inception4a", "inception4d"):
        head = AuxHead2014(self.num_classes, name="aux1" if name == "inception4a" else "aux2",
                           conv_impl=self.conv_impl, **kw)
        if train:
          aux.append(head(x, train=train))
        elif self.is_initializing():  # Create the heads' params; never run in eval.
          head(x, train=train)
    x = jnp.mean(x, axis=(1, 2))  # the 7x7 average pool at 224; global at any size
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = nn.Dense(self.num_classes, kernel_init=xavier, name="fc", **kw)(x)
    return (x, tuple(aux)) if train and self.aux_logits else x


MODELS = {
    "googlenet_2014": ModelSpec(GoogLeNet2014, (224, 224, 3),
                                "GoogLeNet as published: 5x5 branches, LRN, conv biases, no "
                                "BN, 2 auxiliary heads", heads=("fc", "aux1/fc2", "aux2/fc2")),
}
