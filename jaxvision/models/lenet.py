"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998) and a ReLU/max-pool variant.

The 1998 network on 32x32 inputs: C1 conv(6, 5x5) -> S2 subsampling -> C3 conv(16, 5x5) with
the paper's sparse connection table (Table I) -> S4 subsampling -> C5 conv(120, 5x5) -> F6
dense(84) -> output. Squashing is the paper's scaled tanh f(a) = 1.7159 tanh(2a/3).
S2 and S4 are the paper's subsampling: the 2x2 average times a trainable coefficient plus a
trainable bias, per feature map, then the squashing function.
One deliberate departure: the Euclidean RBF output layer with fixed codes is replaced by a
dense layer trained with cross-entropy, as every modern re-implementation does.
Trainable parameters at 10 classes: 156 + 12 + 1,516 + 32 + 48,120 + 10,164 + 850 = 60,850.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec

# Table I of the paper: which S2 maps (rows) feed each C3 map (columns 0..15).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def scaled_tanh(x):
  return 1.7159 * jnp.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
  """S2/S4: 2x2 average, one trainable coefficient and bias per feature map."""

  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    coef = self.param("coef", nn.initializers.ones, (c,), self.param_dtype)
    bias = self.param("bias", nn.initializers.zeros, (c,), self.param_dtype)
    pooled = nn.avg_pool(x, (2, 2), strides=(2, 2))
    return pooled * coef.astype(self.dtype) + bias.astype(self.dtype)


class SparseC3(nn.Module):
  """C3: 16 maps of 5x5 kernels, each over only the S2 maps that Table I connects.

  The 1,516 parameters are stored per map (`map{j}_kernel` (5, 5, |inputs|, 1), `map{j}_bias`) and
  scattered into one dense (5, 5, 6, 16) kernel with zeros elsewhere, so C3 runs as a single
  convolution instead of sixteen small ones.
  """

  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  conv_impl: str = "auto"  # see models/conv_gemm.py

  @nn.compact
  def __call__(self, x):
    in_maps = x.shape[-1]
    kernel = jnp.zeros((5, 5, in_maps, len(C3_TABLE)), self.param_dtype)
    biases = []
    for j, inputs in enumerate(C3_TABLE):
      k = self.param(f"map{j}_kernel", nn.initializers.lecun_normal(),
                     (5, 5, len(inputs), 1), self.param_dtype)
      biases.append(self.param(f"map{j}_bias", nn.initializers.zeros, (1,), self.param_dtype))
      kernel = kernel.at[:, :, list(inputs), j].set(k[..., 0])
    bias = jnp.concatenate(biases)
    conv = conv_function(self.conv_impl) or jax.lax.conv_general_dilated
    y = conv(
        x.astype(self.dtype), kernel.astype(self.dtype), (1, 1), "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias.astype(self.dtype)


class LeNet5(nn.Module):
  """LeNet-5; `classic=True` is the 1998 network, False the ReLU/max-pool variant."""

  num_classes: int = 10
  classic: bool = True
  # Not in the 1998 paper (0 = its network); dropout on the C5 and F6 outputs for ablations.
  dropout_rate: float = 0.0
  # False: return the 84 F6 activations and hold no output layer (an SSL wrapper's encoder).
  head: bool = True
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    if x.shape[1] < 32 or x.shape[2] < 32:
      raise ValueError(
          f"LeNet-5 needs inputs of at least 32x32, got {x.shape[1]}x{x.shape[2]}; "
          "set data.image_size=32 (28x28 images are zero-padded, as the paper did)")
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    conv = functools.partial(nn.Conv, padding="VALID", dtype=self.dtype,
                             param_dtype=self.param_dtype,
                             conv_general_dilated=conv_function(self.conv_impl))
    x = x.astype(self.dtype)
    if self.classic:
      act = scaled_tanh
      pool = lambda name: Subsampling(self.dtype, self.param_dtype, name=name)
      c3 = SparseC3(self.dtype, self.param_dtype, self.conv_impl, name="c3")
    else:
      act = nn.relu
      pool = lambda name: (lambda y: nn.max_pool(y, (2, 2), strides=(2, 2)))
      c3 = conv(16, (5, 5), name="c3")
    x = act(conv(6, (5, 5), name="c1")(x))
    x = act(pool("s2")(x))
    x = act(c3(x))
    x = act(pool("s4")(x))
    x = act(conv(120, (5, 5), name="c5")(x))
    x = jnp.mean(x, axis=(1, 2))  # 1x1 at 32x32; averages if the input is larger.
    dropout = lambda y: nn.Dropout(self.dropout_rate, deterministic=not train)(y)
    x = dropout(act(dense(84, name="f6")(dropout(x))))
    if not self.head:
      return x
    return dense(self.num_classes, name="output")(x)


MODELS = {
    "lenet5": ModelSpec(functools.partial(LeNet5, classic=True), (32, 32, 1),
                        "LeNet-5 (1998): scaled tanh, trainable subsampling, sparse C3",
                        heads=("output",)),
    "lenet5_relu": ModelSpec(functools.partial(LeNet5, classic=False), (32, 32, 1),
                             "LeNet-5 with ReLU, max pooling and a dense C3",
                             heads=("output",)),
}
