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


MODELS = {
    "alexnet": ModelSpec(AlexNet, (224, 224, 3),
                         "AlexNet, torchvision layout (64-192-384-256-256, no LRN)"),
    "alexnet_tiny": ModelSpec(
        functools.partial(AlexNet, widths=(8, 16, 16, 16, 16), hidden=32), (224, 224, 3),
        "AlexNet layout with narrow layers, for tests"),
}
