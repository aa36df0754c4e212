"""AlexNet (Krizhevsky, Sutskever, Hinton 2012) in torchvision's single-tower layout.

torchvision's variant (from "One weird trick", Krizhevsky 2014): 64-192-384-256-256 channels,
no local response normalisation, no grouped convolutions, adaptive average pooling to 6x6,
dropout 0.5 before fc6 and fc7. Layer names are torchvision's Sequential indices
(features_0, ..., classifier_6) so its checkpoint maps one to one; the classifier's input is
flattened in PyTorch's (C, H, W) order for the same reason.
Trainable parameters at 1000 classes: 61,100,840.

Dense evaluation (`dense_eval=True`): fc6 slides as a 6x6 convolution and fc7/fc8 as 1x1
convolutions over the conv5 map (no adaptive pooling), and the class-score map is
averaged. Same parameters; at 224x224 the result equals the FC model.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec


class AlexNet(nn.Module):
  num_classes: int = 1000
  widths: tuple[int, ...] = (64, 192, 384, 256, 256)
  hidden: int = 4096
  dropout_rate: float = 0.5
  dense_eval: bool = False
  # False: return the fc7 activations (after ReLU; 4096 wide) and hold no classifier_6, the
  # features an SSL wrapper's encoder and a linear probe read.
  head: bool = True
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    conv = functools.partial(nn.Conv, kernel_init=layers.conv_init,
                             conv_general_dilated=conv_function(self.conv_impl), **kw)
    dense = functools.partial(nn.Dense, kernel_init=nn.initializers.normal(0.01), **kw)
    dropout = lambda y: nn.Dropout(self.dropout_rate, deterministic=not train)(y)
    w = self.widths
    x = x.astype(self.dtype)
    # (torchvision index, channels, kernel, stride, padding, max-pool after)
    plan = ((0, w[0], 11, 4, 2, True), (3, w[1], 5, 1, 2, True), (6, w[2], 3, 1, 1, False),
            (8, w[3], 3, 1, 1, False), (10, w[4], 3, 1, 1, True))
    for index, features, k, s, p, pool in plan:
      x = nn.relu(conv(features, (k, k), (s, s), padding=layers.torch_padding(p),
                       name=f"features_{index}")(x))
      if pool:
        x = layers.max_pool(x, 3, 2)
    fc6 = layers.FlattenDense(self.hidden, (6, 6), name="classifier_1", **kw)
    if self.dense_eval:
      x = fc6(dropout(x), sliding=True)
    else:
      x = fc6(dropout(layers.adaptive_avg_pool(x, 6)))
    x = dropout(nn.relu(x))
    x = nn.relu(dense(self.hidden, name="classifier_4")(x))
    if self.head:
      x = dense(self.num_classes, name="classifier_6")(x)
    if self.dense_eval:  # Average the class-score (or feature) map over positions.
      x = jnp.mean(x, axis=(1, 2))
    return x



class AlexNet2012(nn.Module):
  """The paper's two-GPU network (Krizhevsky et al. 2012, sec. 3.5 and Figure 2) on one device.

  conv1 96 11x11/4 (227x227 input, no padding: the paper's "224" does not give its 55x55
  map), ReLU, LRN, 3x3/2 max pool; conv2 256 5x5 pad 2, ReLU, LRN, pool; conv3 384, conv4
  384, conv5 256 (3x3 pad 1, ReLU), pool; fc6 4096, fc7 4096 (ReLU, then dropout 0.5: "the
  first two fully-connected layers"), fc8. The two GPUs' towers are grouped convolutions
  (feature_group_count=2) where a GPU saw only its own half of the previous layer: conv2,
  conv4 and conv5; conv3 and the fc layers read both halves. Initialisation (sec. 5):
  weights N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6 and fc7, else 0.
  Trainable parameters at 1000 classes: 60,965,224 (the paper: "60 million").

  `lrn` and `dropout_rate` switch the two ablations of sec. 3.3 and 4.2; `widths`/`hidden`
  narrow the net for tests and small-data runs. `dense_eval`: fc6 slides as a 6x6 conv.
  """

  num_classes: int = 1000
  widths: tuple[int, ...] = (96, 256, 384, 384, 256)
  hidden: int = 4096
  lrn: bool = True
  dropout_rate: float = 0.5
  dense_eval: bool = False
  # The side of the pool5 map fc6 reads: 6 at 227x227; smaller inputs for small-data runs
  # (99x99 gives 2) keep every layer but fc6's fan-in.
  pool5: int = 6
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    normal = nn.initializers.normal(0.01)
    ones, zeros = nn.initializers.ones, nn.initializers.zeros
    w = self.widths
    x = x.astype(self.dtype)
    # (name, channels, kernel, stride, padding, groups, bias init, LRN, max-pool after)
    plan = (("conv1", w[0], 11, 4, 0, 1, zeros, True, True),
            ("conv2", w[1], 5, 1, 2, 2, ones, True, True),
            ("conv3", w[2], 3, 1, 1, 1, zeros, False, False),
            ("conv4", w[3], 3, 1, 1, 2, ones, False, False),
            ("conv5", w[4], 3, 1, 1, 2, ones, False, True))
    for name, features, k, s, p, groups, bias_init, lrn, pool in plan:
      x = nn.relu(nn.Conv(features, (k, k), (s, s), padding=layers.torch_padding(p),
                          feature_group_count=groups, kernel_init=normal,
                          bias_init=bias_init,
                          conv_general_dilated=conv_function(self.conv_impl), name=name,
                          **kw)(x))
      if lrn and self.lrn:
        x = layers.local_response_norm(x, size=5, k=2.0, alpha=1e-4, beta=0.75)
      if pool:
        x = layers.max_pool(x, 3, 2)
    dropout = lambda y: nn.Dropout(self.dropout_rate, deterministic=not train)(y)
    x = layers.FlattenDense(self.hidden, (self.pool5,) * 2, bias_init=ones, name="fc6", **kw)(
        x, sliding=self.dense_eval)
    x = dropout(nn.relu(x))
    x = dropout(nn.relu(nn.Dense(self.hidden, kernel_init=normal, bias_init=ones,
                                 name="fc7", **kw)(x)))
    x = nn.Dense(self.num_classes, kernel_init=normal, name="fc8", **kw)(x)
    if self.dense_eval:  # Average the class-score map over positions.
      x = jnp.mean(x, axis=(1, 2))
    return x

MODELS = {
    "alexnet": ModelSpec(AlexNet, (224, 224, 3),
                         "AlexNet, torchvision layout (64-192-384-256-256, no LRN)",
                         heads=("classifier_6",)),
    "alexnet_tiny": ModelSpec(
        functools.partial(AlexNet, widths=(8, 16, 16, 16, 16), hidden=32), (224, 224, 3),
        "AlexNet layout with narrow layers, for tests", heads=("classifier_6",)),
    "alexnet_2012": ModelSpec(AlexNet2012, (227, 227, 3),
                              "AlexNet as published: 96-256-384-384-256, LRN, two towers as "
                              "grouped convs", heads=("fc8",)),
    "alexnet_2012_tiny": ModelSpec(
        functools.partial(AlexNet2012, widths=(8, 16, 16, 16, 16), hidden=32), (227, 227, 3),
        "alexnet_2012 with narrow layers, for tests", heads=("fc8",)),
}
