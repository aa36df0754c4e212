"""VGG (Simonyan & Zisserman 2015), configurations A, A-LRN, B, C, D, E, with or without BN.

torchvision layout: 3x3 convs with bias (kept also under BatchNorm, as torchvision does) in
five stages closed by 2x2 max-pooling, adaptive average pooling to 7x7, then fc6/fc7 (4096,
ReLU, dropout 0.5) and fc8. Names are torchvision's Sequential indices (features_0, ...,
classifier_6) so its checkpoints map one to one; fc6 reads its input in PyTorch's (C, H, W)
order for the same reason.
Trainable parameters at 1000 classes: vgg11 132,863,336; vgg16 138,357,544; vgg16_bn
138,365,992; vgg19 143,667,240. The paper's own: vgg11_lrn (A-LRN) 132,863,336, as A (LRN
has no parameters); vgg16_c (C: the last conv of stages 3-5 is 1x1) 133,638,952 (Table 2:
"134" million).

Dense evaluation (`dense_eval=True`, the paper's test-time protocol, sec. 3.2): fc6 becomes a
7x7 convolution and fc7/fc8 1x1 convolutions with the same parameters, applied to the
un-pooled conv map of any input >= 224; the class-score map is spatially averaged. At
224x224 the result equals the FC model.
"""

import functools
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models import layers
from jaxvision.models.conv_gemm import conv_function
from jaxvision.models.registry import ModelSpec

WIDTHS = (64, 128, 256, 512, 512)
# Convolutions per stage (Table 1 of the paper): A = vgg11, B = vgg13, D = vgg16, E = vgg19.
STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


class VGG(nn.Module):
  """VGG; `norm=None` is the original, 'batch' the *_bn models (conv -> norm -> ReLU)."""

  stages: tuple[int, ...] = STAGES[16]
  widths: tuple[int, ...] = WIDTHS
  hidden: int = 4096
  num_classes: int = 1000
  norm: Optional[str] = None
  groups: int = 32
  dropout_rate: float = 0.5
  dense_eval: bool = False
  # The paper's other configurations (Table 1): A-LRN's local response normalisation after
  # the first conv (AlexNet's constants, sec. 2.3), and C's 1x1 convs, the last conv of each
  # stage listed here (C: stages 2, 3, 4, counting from 0).
  lrn: bool = False
  one_by_one: tuple[int, ...] = ()
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    dense = functools.partial(nn.Dense, kernel_init=nn.initializers.normal(0.01), **kw)
    dropout = lambda y: nn.Dropout(self.dropout_rate, deterministic=not train)(y)
    x = x.astype(self.dtype)
    index = 0  # torchvision's position in `features`: conv, [norm], ReLU, ..., MaxPool.
    conv = conv_function(self.conv_impl)
    for stage, (convs, width) in enumerate(zip(self.stages, self.widths)):
      for i in range(convs):
        if stage in self.one_by_one and i == convs - 1:  # configuration C
          x = nn.Conv(width, (1, 1), kernel_init=layers.conv_init, conv_general_dilated=conv,
                      name=f"features_{index}", **kw)(x)
        else:
          x = nn.Conv(width, (3, 3), padding=((1, 1), (1, 1)), kernel_init=layers.conv_init,
                      conv_general_dilated=conv, name=f"features_{index}", **kw)(x)
        index += 1
        if self.norm is not None:
          x = layers.make_norm(self.norm, train=train, name=f"features_{index}",
                               groups=self.groups, **kw)(x)
          index += 1
        x = nn.relu(x)
        index += 1
        if self.lrn and stage == 0 and i == 0:  # A-LRN; no index, so names stay A's
          x = layers.local_response_norm(x, size=5, k=2.0, alpha=1e-4, beta=0.75)
      x = layers.max_pool(x, 2, 2)
      index += 1
    fc6 = layers.FlattenDense(self.hidden, (7, 7), name="classifier_0", **kw)
    if self.dense_eval:
      x = fc6(x, sliding=True)
    else:
      x = fc6(layers.adaptive_avg_pool(x, 7))
    x = dropout(nn.relu(x))
    x = dropout(nn.relu(dense(self.hidden, name="classifier_3")(x)))
    x = dense(self.num_classes, name="classifier_6")(x)
    if self.dense_eval:  # Average the class-score map over positions.
      x = jnp.mean(x, axis=(1, 2))
    return x


HEADS = ("classifier_6",)  # torchvision's classifier[6]


def _spec(depth: int, norm: Optional[str]) -> ModelSpec:
  letter = {11: "A", 13: "B", 16: "D", 19: "E"}[depth]
  return ModelSpec(functools.partial(VGG, stages=STAGES[depth], norm=norm), (224, 224, 3),
                   f"VGG-{depth} (configuration {letter})" + (" with BatchNorm" if norm else ""),
                   heads=HEADS)


MODELS = {f"vgg{d}": _spec(d, None) for d in STAGES}
MODELS.update({f"vgg{d}_bn": _spec(d, "batch") for d in STAGES})
MODELS["vgg11_lrn"] = ModelSpec(functools.partial(VGG, stages=STAGES[11], lrn=True),
                               (224, 224, 3), "VGG-11 with LRN (configuration A-LRN)",
                               heads=HEADS)
MODELS["vgg16_c"] = ModelSpec(functools.partial(VGG, stages=STAGES[16], one_by_one=(2, 3, 4)),
                              (224, 224, 3), "VGG-16 configuration C (three 1x1 convs)",
                              heads=HEADS)
MODELS["vgg_tiny"] = ModelSpec(
    functools.partial(VGG, stages=(1, 1, 1, 1, 1), widths=(8, 8, 16, 16, 16), hidden=32),
    (224, 224, 3), "VGG layout with one narrow conv per stage, for tests", heads=HEADS)
