"""Tri-Net's network (Chen, Wang, Gao, Zhou 2018, "Tri-net for Semi-Supervised Deep Learning",
IJCAI, Fig. 2): a shared module M_S and three modules M_1, M_2, M_3 on top of it.

Here M_S is the stem and the first `shared_stages` stages of a CIFAR ResNet (option A
shortcuts), and each M_v is the remaining stages, global average pooling, dropout and a
linear classifier, so the three heads can disagree. Dropout in the heads is what Tri-Net's
pseudo-label editing probes (`mc_dropout=True`: dropout on while batch norm uses its running
statistics, for the stability check between rounds).

`__call__` returns (N, 3, num_classes): the logits of the three heads for every example, so
the batch dimension stays first and is sharded like any other output. The final prediction
is the vote of the three heads (`vote`; the 'trinet_vote' evaluator).
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec
from jaxvision.models.resnet import BasicBlock

NUM_HEADS = 3


class _Stages(nn.Module):
  stages: tuple[int, ...]
  widths: tuple[int, ...]
  first_stage: int  # index of stages[0] in the whole net: stride 2 on entry unless it is 0
  norm: str = "batch"
  conv_impl: str = "auto"
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool):
    for i, (blocks, width) in enumerate(zip(self.stages, self.widths)):
      stage = self.first_stage + i
      for j in range(blocks):
        x = BasicBlock(width, 2 if j == 0 and stage > 0 else 1, "pad", norm=self.norm,
                       conv_impl=self.conv_impl, dtype=self.dtype, param_dtype=self.param_dtype,
                       name=f"layer{stage + 1}_{j}")(x, train=train)
    return x


class TriNet(nn.Module):
  stages: tuple[int, ...] = (3, 3, 3)      # ResNet-20's layout by default
  widths: tuple[int, ...] = (16, 32, 64)
  shared_stages: int = 2                   # stages in M_S; the rest are in each head
  dropout_rate: float = 0.3
  num_classes: int = 10
  norm: str = "batch"
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  # Dropout sits only after each head's pooling, so K stability passes can share one pass
  # of everything below it (objectives/trinet_rounds.prepare_round reads this).
  dropout_after_pooling = True

  @nn.compact
  def __call__(self, x, *, train: bool = False, mc_dropout: bool = False, part: str = "all"):
    """part="all": (N, 3, C) logits. part="pooled": (N, 3, D) each head's pooled features,
    before its dropout. part="classifiers": x is such (N, 3, D) features; returns the logits.
    The parts use the same submodules, so "classifiers" draws the same dropout masks from
    the same rngs as "all" does."""
    if not 0 < self.shared_stages < len(self.stages):
      raise ValueError(f"shared_stages must be in 1..{len(self.stages) - 1}, "
                       f"got {self.shared_stages}")
    if part not in ("all", "pooled", "classifiers"):
      raise ValueError(f"part must be 'all', 'pooled' or 'classifiers', got {part!r}")
    pooled = ([x[:, v] for v in range(NUM_HEADS)] if part == "classifiers"
              else self._pooled(x, train=train))
    if part == "pooled":
      return jnp.stack(pooled, axis=1)
    outs = []
    for v in range(NUM_HEADS):
      h = nn.Dropout(self.dropout_rate, deterministic=not (train or mc_dropout),
                     name=f"dropout{v + 1}")(pooled[v])
      outs.append(nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                           name=f"fc{v + 1}")(h))
    return jnp.stack(outs, axis=1)

  def _pooled(self, x, *, train: bool):
    """[(N, D)] * 3: each head's pooled features (a list, not one stacked array, so the
    training step compiles to the same program, and the same losses bit for bit, as before
    the parts existed)."""
    kw = dict(norm=self.norm, conv_impl=self.conv_impl, dtype=self.dtype,
              param_dtype=self.param_dtype)
    x = x.astype(self.dtype)
    x = nn.Conv(self.widths[0], (3, 3), padding=((1, 1), (1, 1)), use_bias=False,
                kernel_init=layers.conv_init, name="conv1", dtype=self.dtype,
                param_dtype=self.param_dtype,
                conv_general_dilated=conv_function(self.conv_impl))(x)
    x = nn.relu(layers.make_norm(self.norm, train=train, name="bn1", dtype=self.dtype,
                                 param_dtype=self.param_dtype)(x))
    s = self.shared_stages
    x = _Stages(self.stages[:s], self.widths[:s], 0, name="shared", **kw)(x, train=train)
    return [jnp.mean(_Stages(self.stages[s:], self.widths[s:], s, name=f"head{v + 1}", **kw)(
        x, train=train), axis=(1, 2)) for v in range(NUM_HEADS)]



class TriNetCNN13(nn.Module):
  """Tri-Net on the 13-layer CNN ("conv-large" of Laine & Aila 2017, Table 5), split as M_S +
  three M_v. Assumed, not read: it is the usual CIFAR-10/SVHN network of the 2017-18
  semi-supervised papers; the paper's own network table could not be read (#25).

  conv-large: Gaussian input noise (std 0.15, training only); 3x [3x3 conv 128, LReLU 0.1];
  2x2 max pool; dropout 0.5; 3x [3x3 conv 256]; max pool; dropout 0.5; 3x3 conv 512 VALID;
  1x1 conv 256; 1x1 conv 128; global average pool; fc. Batch norm after every conv, convs
  without bias; the public reimplementations differ here (the Mean Teacher / fast-SWA code
  weight-normalises convs with bias before BN), and the count below is for this choice.
  M_S: everything up to the second dropout (the two 3-conv blocks); each M_v: the
  last three convs, pooling, the head dropout Tri-Net's editing probes, and its own fc.
  The split is ours: the paper's network table could not be read here (BUILD_NOTES.md,
  session 10, #25), and this is the split Fig. 2's "shared low-level module, three
  high-level modules" suggests. `mc_dropout=True` turns every dropout on (as the
  reimplementations' stability check, the model in train mode with batch norm frozen).
  Trainable parameters at 10 classes: 5,814,942 (conv-large alone: 3,121,802).
  """

  num_classes: int = 10
  widths: tuple[int, ...] = (128, 256, 512, 256, 128)
  dropout_rate: float = 0.5       # the head dropout before each fc (Tri-Net's editing)
  block_dropout: float = 0.5      # conv-large's own, after each max pool
  input_noise: float = 0.15
  slope: float = 0.1
  norm: str = "batch"
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False, mc_dropout: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    drop_on = train or mc_dropout
    x = x.astype(self.dtype)
    if train and self.input_noise > 0:
      x = x + self.input_noise * jax.random.normal(self.make_rng("dropout"), x.shape, x.dtype)

    def unit(y, features, kernel, name, padding="SAME"):
      y = nn.Conv(features, (kernel, kernel), padding=padding, use_bias=False,
                  kernel_init=layers.conv_init,
                  conv_general_dilated=conv_function(self.conv_impl), name=name, **kw)(y)
      y = layers.make_norm(self.norm, train=train, name=f"{name}_bn", **kw)(y)
      return nn.leaky_relu(y, self.slope)

    w = self.widths
    for block, width in enumerate(w[:2]):
      for i in range(3):
        x = unit(x, width, 3, f"shared_conv{block + 1}{'abc'[i]}")
      x = layers.max_pool(x, 2, 2)
      x = nn.Dropout(self.block_dropout, deterministic=not drop_on)(x)
    outs = []
    for v in range(NUM_HEADS):
      h = unit(x, w[2], 3, f"head{v + 1}_conv3a", padding="VALID")
      h = unit(h, w[3], 1, f"head{v + 1}_conv3b")
      h = unit(h, w[4], 1, f"head{v + 1}_conv3c")
      h = jnp.mean(h, axis=(1, 2))
      h = nn.Dropout(self.dropout_rate, deterministic=not drop_on, name=f"dropout{v + 1}")(h)
      outs.append(nn.Dense(self.num_classes, name=f"fc{v + 1}", **kw)(h))
    return jnp.stack(outs, axis=1)

def vote(logits):
  """(N, 3, C) head logits -> (N,) majority vote of the heads' argmaxes.

  With three heads a class chosen by two or three wins; when all three differ, the head
  whose top probability is highest decides (the paper leaves this case open).
  """
  preds = jnp.argmax(logits, axis=-1)                                   # (N, 3)
  counts = jax.nn.one_hot(preds, logits.shape[-1], dtype=jnp.int32).sum(axis=1)  # (N, C)
  top = jnp.max(counts, axis=-1)
  confident = jnp.take_along_axis(
      preds, jnp.argmax(jnp.max(jax.nn.softmax(logits.astype(jnp.float32), -1), -1),
                        axis=-1)[:, None], axis=1)[:, 0]
  return jnp.where(top >= 2, jnp.argmax(counts, axis=-1), confident)


MODELS = {
    "trinet_resnet20": ModelSpec(TriNet, (32, 32, 3),
                                 "Tri-Net: ResNet-20 stem + stages 1-2 shared, stage 3 x 3 heads"),
    "trinet_resnet8": ModelSpec(functools.partial(TriNet, stages=(1, 1, 1)), (32, 32, 3),
                                "Tri-Net on ResNet-8 (laptop runs)"),
    "trinet_cnn13": ModelSpec(TriNetCNN13, (32, 32, 3),
                              "Tri-Net on the 13-layer CNN (Laine & Aila's conv-large): "
                              "6 convs shared, 3 per head"),
}
