"""Network in Network (Lin, Chen, Yan 2014) for 32x32 CIFAR images.

The authors' CIFAR-10 model: three mlpconv blocks, each a spatial conv followed by two 1x1
convs ("cccp" layers), all with ReLU: (192 5x5, 160, 96) -> 3x3/2 max pool -> dropout 0.5 ->
(192 5x5, 192, 192) -> 3x3/2 average pool -> dropout 0.5 -> (192 3x3, 192, num_classes) ->
global average pooling. No fully connected layer: the last mlpconv emits one map per class.
Pooling rounds up as Caffe does (32 -> 16 -> 8), and, as in the released model, the last
1x1 conv is followed by ReLU too, so the averaged class maps are non-negative.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec


class NiN(nn.Module):
  num_classes: int = 10
  dropout_rate: float = 0.5
  # False: stop after block3_cccp1 and average its 192 maps; block3_cccp2, the per-class
  # 1x1 conv, is NiN's classifier, so it is left out (an SSL wrapper's encoder).
  head: bool = True
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    conv = functools.partial(nn.Conv, kernel_init=layers.conv_init, dtype=self.dtype,
                             param_dtype=self.param_dtype,
                             conv_general_dilated=conv_function(self.conv_impl))
    # (name, spatial kernel, widths of the conv and its two 1x1 layers)
    blocks = (("block1", 5, (192, 160, 96)), ("block2", 5, (192, 192, 192)),
              ("block3", 3, (192, 192, self.num_classes)))
    x = x.astype(self.dtype)
    for i, (name, k, widths) in enumerate(blocks):
      p = k // 2
      x = nn.relu(conv(widths[0], (k, k), padding=((p, p), (p, p)), name=f"{name}_conv")(x))
      x = nn.relu(conv(widths[1], (1, 1), name=f"{name}_cccp1")(x))
      if i == 2 and not self.head:
        break
      x = nn.relu(conv(widths[2], (1, 1), name=f"{name}_cccp2")(x))
      if i == 0:
        x = layers.max_pool(x, 3, 2, ceil_mode=True)
      elif i == 1:
        x = layers.avg_pool(x, 3, 2, ceil_mode=True)
      if i < 2:
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return jnp.mean(x, axis=(1, 2))


MODELS = {
    "nin": ModelSpec(NiN, (32, 32, 3),
                     "Network in Network, CIFAR-10 model: 3 mlpconv blocks, global avg pool",
                     heads=("block3_cccp2",)),
}
