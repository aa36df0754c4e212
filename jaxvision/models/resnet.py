"""Residual networks: torchvision's ImageNet ResNets, He et al.'s CIFAR ResNets and plain twins,
SE-ResNets, BAM-ResNets, and the pre-activation Wide ResNet 28-2 of semi-supervised papers.

ImageNet (torchvision layout and names: conv1, bn1, layer1_0/conv1, .../downsample_0|1, fc):
7x7/2 stem and 3x3/2 max pool; basic blocks for 18/34, bottlenecks from 50 with the stride
on the 3x3 conv ("v1.5", as torchvision); projection shortcuts (option B) where the shape
changes. Params at 1000 classes: resnet18 11,689,512; resnet34 21,797,672; resnet50
25,557,032; resnet101 44,549,160; resnet152 60,192,808. `version=1` (resnet50_v1) puts the
stride on the bottleneck's first 1x1, as the paper did. plain18/plain34 are the paper's
ImageNet plain nets (Table 1, Figure 4 left): the same layers without any shortcut, so
without the projection convs (11,515,688 and 21,623,848 parameters).

CIFAR (He et al. 2016, sec. 4.2): 3x3 stem of 16 channels, three stages of n basic blocks
(16, 32, 64 channels, depth 6n+2), option A shortcuts -- identity, with stride-2 subsampling
and zero-padded channels where the shape changes -- so shortcuts add no parameters
(resnet20 269,722 ... resnet110 1,727,962). plain20/plain56 drop the shortcuts.

SE (Hu et al. 2018): squeeze-excite on the residual branch before the addition, in timm's
`seresnet` layout (block/se/fc1|fc2, hidden width rounded to a multiple of 8):
se_resnet50 has 28,088,024 params. CIFAR SE nets use plain C // 16 (16 channels -> 1).

BAM (Park et al. 2018): a BAM module after ImageNet stages 1-3, i.e. at each bottleneck
where the grid is about to shrink (names bam1..bam3). For the 3-stage CIFAR nets the
bottlenecks are after stages 1 and 2, so those get BAM (`bam_after` changes it).
"""

import functools
from typing import Any, Callable

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec


class _Block(nn.Module):
  planes: int
  stride: int = 1
  shortcut: str = "conv"  # 'conv' (option B), 'pad' (option A), 'none' (plain network).
  se: bool = False
  se_divisor: int = 8
  zero_init_residual: bool = False
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  expansion = 1

  def conv(self, features, kernel, stride=1, *, name):
    p = kernel // 2
    return nn.Conv(features, (kernel, kernel), (stride, stride), padding=((p, p), (p, p)),
                   use_bias=False, kernel_init=layers.conv_init, dtype=self.dtype,
                   param_dtype=self.param_dtype,
                   conv_general_dilated=conv_function(self.conv_impl), name=name)

  def norm_layer(self, train, *, name, last=False):
    # zero_init_residual: the block starts as identity (Goyal et al. 2017), as torchvision.
    init = nn.initializers.zeros if last and self.zero_init_residual else nn.initializers.ones
    return layers.make_norm(self.norm, train=train, name=name, groups=self.groups,
                            scale_init=init, dtype=self.dtype, param_dtype=self.param_dtype)

  def merge(self, x, y, train):
    """SE on the residual branch, then the shortcut, addition and ReLU."""
    if self.se:
      y = layers.SqueezeExcite(divisor=self.se_divisor, dtype=self.dtype,
                               param_dtype=self.param_dtype, name="se")(y)
    if self.shortcut == "none":
      return nn.relu(y)
    out = self.planes * self.expansion
    if self.stride != 1 or x.shape[-1] != out:
      if self.shortcut == "conv":
        x = self.conv(out, 1, self.stride, name="downsample_0")(x)
        x = self.norm_layer(train, name="downsample_1")(x)
      else:  # Option A: parameter-free, extra channels are zeros (split evenly, as usual).
        x = x[:, ::self.stride, ::self.stride, :]
        lo = (out - x.shape[-1]) // 2
        x = jnp.pad(x, ((0, 0), (0, 0), (0, 0), (lo, out - x.shape[-1] - lo)))
    return nn.relu(x + y)


class BasicBlock(_Block):
  @nn.compact
  def __call__(self, x, *, train: bool = False):
    y = self.conv(self.planes, 3, self.stride, name="conv1")(x)
    y = nn.relu(self.norm_layer(train, name="bn1")(y))
    y = self.conv(self.planes, 3, name="conv2")(y)
    y = self.norm_layer(train, name="bn2", last=True)(y)
    return self.merge(x, y, train)


class Bottleneck(_Block):
  expansion = 4
  # 1.5: the stride on the 3x3 conv (torchvision's, whose weights import); 1: on the first
  # 1x1, as He et al. (2016) and their released Caffe models. Same parameters either way.
  version: float = 1.5

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    s1, s2 = (self.stride, 1) if self.version == 1 else (1, self.stride)
    y = self.conv(self.planes, 1, s1, name="conv1")(x)
    y = nn.relu(self.norm_layer(train, name="bn1")(y))
    y = self.conv(self.planes, 3, s2, name="conv2")(y)
    y = nn.relu(self.norm_layer(train, name="bn2")(y))
    y = self.conv(self.planes * 4, 1, name="conv3")(y)
    y = self.norm_layer(train, name="bn3", last=True)(y)
    return self.merge(x, y, train)


class ResNet(nn.Module):
  """Every residual net of the file but WRN; variants differ only in these attributes."""

  stages: tuple[int, ...] = (2, 2, 2, 2)
  block: str = "basic"  # 'basic' | 'bottleneck'
  widths: tuple[int, ...] = (64, 128, 256, 512)
  stem: str = "imagenet"  # 'imagenet': 7x7/2 conv + 3x3/2 max pool; 'cifar': 3x3/1 conv.
  shortcut: str = "conv"
  se: bool = False
  se_divisor: int = 8
  bam_after: tuple[int, ...] = ()
  zero_init_residual: bool = False
  num_classes: int = 1000
  # False: return the pooled features and hold no classifier (an SSL wrapper's encoder).
  head: bool = True
  norm: str = "batch"
  groups: int = 32
  # 'auto': per convolution, the faster of XLA's and the GEMM form (models/conv_gemm.py) for
  # the backend; 'xla' or 'gemm' force one. Same parameters either way.
  conv_impl: str = "auto"
  # The stem's max pool: 'xla' (reduce_window) or 'slices' (layers.max_pool: the same values
  # and gradient routing, without XLA's select-and-scatter). No parameters either way.
  pool_impl: str = "xla"
  version: float = 1.5  # bottleneck stride placement: 1 (the paper's) or 1.5 (torchvision's)
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    if self.version not in (1, 1.5):
      raise ValueError(f"ResNet version must be 1 or 1.5, got {self.version}")
    kw = dict(norm=self.norm, groups=self.groups, dtype=self.dtype,
              param_dtype=self.param_dtype)
    x = x.astype(self.dtype)
    k, s, p = (7, 2, 3) if self.stem == "imagenet" else (3, 1, 1)
    x = nn.Conv(self.widths[0], (k, k), (s, s), padding=((p, p), (p, p)), use_bias=False,
                kernel_init=layers.conv_init, dtype=self.dtype,
                param_dtype=self.param_dtype,
                conv_general_dilated=conv_function(self.conv_impl), name="conv1")(x)
    x = nn.relu(layers.make_norm(self.norm, train=train, name="bn1", groups=self.groups,
                                 dtype=self.dtype, param_dtype=self.param_dtype)(x))
    if self.stem == "imagenet":
      x = layers.max_pool(x, 3, 2, padding=1, impl=self.pool_impl)
    block_cls = {"basic": BasicBlock,
                 "bottleneck": functools.partial(Bottleneck, version=self.version)}[self.block]
    for i, (blocks, width) in enumerate(zip(self.stages, self.widths)):
      for j in range(blocks):
        x = block_cls(width, 2 if j == 0 and i > 0 else 1, self.shortcut, self.se,
                      self.se_divisor, self.zero_init_residual, name=f"layer{i + 1}_{j}",
                      conv_impl=self.conv_impl, **kw)(x, train=train)
      if i + 1 in self.bam_after:
        x = layers.BAM(name=f"bam{i + 1}", conv_impl=self.conv_impl, **kw)(x, train=train)
    x = jnp.mean(x, axis=(1, 2))
    if not self.head:
      return x
    return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                    name="fc")(x)


class PreActBlock(nn.Module):
  """WRN block: BN-act-conv3x3(stride)-BN-act-conv3x3 plus a shortcut (1x1 conv if the width
  changes). As in the MixMatch/FixMatch reference, the first block of the net takes its
  shortcut from the activated input; later width changes project the raw input."""

  planes: int
  stride: int = 1
  activate_before_residual: bool = False
  slope: float = 0.1
  norm: str = "batch"
  groups: int = 32
  momentum: float = 0.999
  epsilon: float = 1e-3
  conv_impl: str = "auto"
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    conv = functools.partial(nn.Conv, use_bias=False, kernel_init=layers.conv_init,
                             conv_general_dilated=conv_function(self.conv_impl), **kw)
    norm = functools.partial(layers.make_norm, self.norm, train=train, groups=self.groups,
                             momentum=self.momentum, epsilon=self.epsilon, **kw)
    act = lambda v: nn.leaky_relu(v, self.slope)
    s = (self.stride, self.stride)
    y = act(norm(name="bn1")(x))
    shortcut = y if self.activate_before_residual else x
    y = conv(self.planes, (3, 3), s, padding=((1, 1), (1, 1)), name="conv1")(y)
    y = act(norm(name="bn2")(y))
    y = conv(self.planes, (3, 3), padding=((1, 1), (1, 1)), name="conv2")(y)
    if x.shape[-1] != self.planes or self.stride != 1:
      shortcut = conv(self.planes, (1, 1), s, name="shortcut")(shortcut)
    return shortcut + y


class WideResNet(nn.Module):
  """WRN-d-k (Zagoruyko & Komodakis 2016) as in Oliver et al. 2018 / MixMatch / FixMatch:
  pre-activation, leaky ReLU 0.1, BatchNorm momentum 0.999 (PyTorch 0.001), eps 1e-3 (the TF
  reference's). WRN-28-2: 1,467,610 params at 10 classes, the published 1.5M."""

  depth: int = 28
  widen: int = 2
  num_classes: int = 10
  head: bool = True
  slope: float = 0.1
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"  # see ResNet
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(norm=self.norm, groups=self.groups, dtype=self.dtype,
              param_dtype=self.param_dtype, conv_impl=self.conv_impl)
    n = (self.depth - 4) // 6
    x = nn.Conv(16, (3, 3), padding=((1, 1), (1, 1)), use_bias=False,
                kernel_init=layers.conv_init, dtype=self.dtype, param_dtype=self.param_dtype,
                conv_general_dilated=conv_function(self.conv_impl),
                name="conv1")(x.astype(self.dtype))
    for i, width in enumerate((16 * self.widen, 32 * self.widen, 64 * self.widen)):
      for j in range(n):
        x = PreActBlock(width, 2 if j == 0 and i > 0 else 1, i == 0 and j == 0, self.slope,
                        name=f"layer{i + 1}_{j}", **kw)(x, train=train)
    x = layers.make_norm(self.norm, train=train, name="bn_final", groups=self.groups,
                         momentum=0.999, epsilon=1e-3, dtype=self.dtype,
                         param_dtype=self.param_dtype)(x)
    x = jnp.mean(nn.leaky_relu(x, self.slope), axis=(1, 2))
    if not self.head:
      return x
    return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype,
                    name="fc")(x)


IMAGENET_STAGES = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
                   50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
                   152: ("bottleneck", (3, 8, 36, 3))}


def imagenet_resnet(depth: int, **kw) -> Callable[..., nn.Module]:
  block, stages = IMAGENET_STAGES[depth]
  return functools.partial(ResNet, stages=stages, block=block, **kw)


def cifar_resnet(depth: int, **kw) -> Callable[..., nn.Module]:
  if (depth - 2) % 6:
    raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
  n = (depth - 2) // 6
  kw = {"shortcut": "pad", "num_classes": 10, **kw}
  return functools.partial(ResNet, stages=(n, n, n), widths=(16, 32, 64), stem="cifar", **kw)


IMAGENET, CIFAR = (224, 224, 3), (32, 32, 3)
MODELS = {f"resnet{d}": ModelSpec(imagenet_resnet(d), IMAGENET, f"ResNet-{d}, torchvision")
          for d in IMAGENET_STAGES}
MODELS.update({
    f"resnet{d}": ModelSpec(cifar_resnet(d), CIFAR, f"CIFAR ResNet-{d}, option A shortcuts")
    for d in (20, 32, 44, 56, 110)})
MODELS.update({
    f"plain{d}": ModelSpec(cifar_resnet(d, shortcut="none"), CIFAR,
                           f"CIFAR plain-{d}: ResNet-{d} without shortcuts")
    for d in (20, 56)})
MODELS.update({
    f"plain{d}": ModelSpec(imagenet_resnet(d, shortcut="none"), IMAGENET,
                           f"ImageNet plain-{d}: ResNet-{d} without shortcuts (He et al. Table 1)")
    for d in (18, 34)})
MODELS["resnet50_v1"] = ModelSpec(imagenet_resnet(50, version=1), IMAGENET,
                                  "ResNet-50 v1, the paper's: stride on the bottleneck's first 1x1")
MODELS.update({
    "se_resnet18": ModelSpec(imagenet_resnet(18, se=True), IMAGENET, "SE-ResNet-18, timm"),
    "se_resnet50": ModelSpec(imagenet_resnet(50, se=True), IMAGENET, "SE-ResNet-50, timm"),
    "se_resnet20": ModelSpec(cifar_resnet(20, se=True, se_divisor=1), CIFAR,
                             "CIFAR SE-ResNet-20"),
    "se_resnet56": ModelSpec(cifar_resnet(56, se=True, se_divisor=1), CIFAR,
                             "CIFAR SE-ResNet-56"),
    "bam_resnet50": ModelSpec(imagenet_resnet(50, bam_after=(1, 2, 3)), IMAGENET,
                              "ResNet-50 with BAM after stages 1-3"),
    "bam_resnet20": ModelSpec(cifar_resnet(20, bam_after=(1, 2)), CIFAR,
                              "CIFAR ResNet-20 with BAM after stages 1-2"),
    "bam_resnet56": ModelSpec(cifar_resnet(56, bam_after=(1, 2)), CIFAR,
                              "CIFAR ResNet-56 with BAM after stages 1-2"),
    "wrn28_2": ModelSpec(WideResNet, CIFAR, "Wide ResNet 28-2, pre-activation (SSL papers)"),
})
