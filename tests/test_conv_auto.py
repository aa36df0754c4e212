"""conv_impl='auto', every conv model's default: the same function as lax.conv_general_dilated
(values and gradients, with and without jit) on the conv shapes each model family uses, the
dispatch the measured CPU rule asks for, and unchanged parameter trees."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision import models
from jaxvision.models import conv_gemm
from jaxvision.models.conv_gemm import auto_conv_general_dilated, conv_function

# (family, input hw, cin, cout, kernel, strides, padding, extra nn.Conv kwargs): the layer
# shapes of each family (channels cut down), incl. the ones the rule sends to the GEMM. LeNet's
# C5 and NiN's 5x5 stem (GEMM cases too) run in the whole-model gradient test below.
FAMILY_CONVS = [
    ("lenet c1", 32, 1, 6, (5, 5), (1, 1), "VALID", {}),
    ("alexnet features_0", 35, 3, 8, (11, 11), (4, 4), ((2, 2), (2, 2)), {}),
    ("resnet 3x3 stride 2", 9, 4, 6, (3, 3), (2, 2), ((1, 1), (1, 1)), {}),
    ("resnet stem 7x7/2", 16, 3, 8, (7, 7), (2, 2), ((3, 3), (3, 3)), {}),
    ("resnet 1x1 downsample", 8, 6, 10, (1, 1), (2, 2), ((0, 0), (0, 0)), {}),
    ("resnet 2x2 map", 2, 8, 8, (3, 3), (1, 1), ((1, 1), (1, 1)), {}),
    ("resnet 256 channels", 4, 256, 4, (3, 3), (1, 1), ((1, 1), (1, 1)), {}),
    ("nin cccp 1x1", 6, 7, 5, (1, 1), (1, 1), ((0, 0), (0, 0)), {}),
    ("inception 1x7", 9, 4, 6, (1, 7), (1, 1), ((0, 0), (3, 3)), {}),
    ("inception v3 3x3/2 valid", 11, 4, 6, (3, 3), (2, 2), "VALID", {}),
    ("googlenet 'same'", 7, 4, 6, (3, 3), (1, 1), "SAME", {}),
    ("bam dilated", 9, 4, 4, (3, 3), (1, 1), ((4, 4), (4, 4)), {"kernel_dilation": (4, 4)}),
    ("grouped", 6, 4, 6, (3, 3), (1, 1), ((1, 1), (1, 1)), {"feature_group_count": 2}),
    ("depthwise", 6, 4, 4, (3, 3), (2, 2), ((1, 1), (1, 1)), {"feature_group_count": 4}),
]


@pytest.mark.parametrize("family,hw,cin,cout,kernel,strides,padding,extra", FAMILY_CONVS,
                         ids=[c[0] for c in FAMILY_CONVS])
def test_auto_equals_lax_values_and_gradients(family, hw, cin, cout, kernel, strides,
                                              padding, extra):
  x = jnp.asarray(np.random.default_rng(hw * cin).normal(size=(2, hw, hw, cin)), jnp.float32)
  ref = nn.Conv(cout, kernel, strides, padding=padding, **extra)
  auto = nn.Conv(cout, kernel, strides, padding=padding,
                 conv_general_dilated=auto_conv_general_dilated, **extra)
  v = ref.init(jax.random.key(0), x)

  def value_and_grads(m):
    return jax.value_and_grad(lambda v, x: jnp.sum(jnp.sin(m.apply(v, x))), (0, 1))

  for wrap in (lambda f: f, jax.jit):
    chex.assert_trees_all_close(wrap(auto.apply)(v, x), ref.apply(v, x), rtol=1e-5, atol=1e-5)
    chex.assert_trees_all_close(wrap(value_and_grads(auto))(v, x), value_and_grads(ref)(v, x),
                                rtol=1e-4, atol=1e-4)


def _has_conv_op(f, *args) -> bool:
  return "conv_general_dilated" in str(jax.make_jaxpr(f)(*args))


@pytest.mark.parametrize("hw,cin,kernel,strides,gemm", [
    (8, 4, 1, 1, True),      # 1x1 kernel: a plain dot
    (2, 8, 3, 1, True),      # output of 2x2
    (4, 256, 3, 1, True),    # 256 input channels
    (32, 1, 5, 1, True),     # LeNet's C1: 5x5 over one channel
    (8, 16, 3, 1, False),    # 3x3 on an 8x8 map, 16 channels: XLA's
    (35, 3, 11, 4, False),   # AlexNet's strided 11x11: XLA's
])
def test_auto_dispatch_on_cpu_follows_the_measured_rule(hw, cin, kernel, strides, gemm):
  x = jnp.zeros((1, hw, hw, cin))
  w = jnp.zeros((kernel, kernel, cin, 4))
  pad = [(kernel // 2, kernel // 2)] * 2
  dn = jax.lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))
  f = lambda x, w: auto_conv_general_dilated(x, w, (strides, strides), pad,
                                             dimension_numbers=dn)
  assert jax.default_backend() == "cpu"
  assert _has_conv_op(f, x, w) == (not gemm)


def test_auto_uses_xla_convolutions_off_the_cpu(monkeypatch):
  x, w = jnp.zeros((1, 8, 8, 4)), jnp.zeros((1, 1, 4, 4))  # the GEMM's case on the CPU
  dn = jax.lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))
  # A fresh function each time: jax caches traces by function.
  f = lambda: lambda x, w: auto_conv_general_dilated(x, w, (1, 1), "VALID",
                                                     dimension_numbers=dn)
  assert not _has_conv_op(f(), x, w)
  monkeypatch.setattr(conv_gemm.jax, "default_backend", lambda: "gpu")
  assert _has_conv_op(f(), x, w)


def test_unknown_conv_impl_is_an_error_naming_the_choices():
  with pytest.raises(ValueError, match="auto, xla, gemm"):
    conv_function("fast")


CONV_MODELS = ["lenet5", "lenet5_relu", "alexnet_tiny", "vgg_tiny", "nin", "googlenet",
               "bn_inception", "inception_v3", "resnet20", "resnet18", "se_resnet20",
               "bam_resnet20", "wrn28_2", "trinet_resnet8"]


@pytest.mark.parametrize("name", CONV_MODELS)
def test_auto_is_the_default_and_keeps_the_parameter_tree(name):
  spec = models.MODELS[name]
  assert models.get_model(name, num_classes=10).conv_impl == "auto"
  x = jax.ShapeDtypeStruct((1, *spec.input_shape), jnp.float32)
  trees = [jax.eval_shape(lambda x, m=models.get_model(name, num_classes=10, conv_impl=impl):
                          m.init(jax.random.key(0), x, train=False), x)
           for impl in ("xla", "auto")]
  chex.assert_trees_all_equal_shapes_and_dtypes(*trees)


@pytest.mark.parametrize("name,shape", [("lenet5", (2, 32, 32, 1)), ("resnet20", (2, 8, 8, 3)),
                                        ("nin", (2, 8, 8, 3))])
def test_whole_model_gradients_equal_xla_convs(name, shape):
  # resnet20 on 8x8 inputs has 2x2 maps in stage 3 (the GEMM's case) and 8x8 ones (XLA's);
  # LeNet's C1 and C5 and NiN's stem and 1x1 convs are GEMMs, NiN's later 5x5/3x3 XLA's.
  x = jnp.asarray(np.random.default_rng(1).normal(size=shape), jnp.float32)
  ref = models.get_model(name, num_classes=10, conv_impl="xla")
  auto = models.get_model(name, num_classes=10)
  v = ref.init(jax.random.key(0), x, train=False)

  def grads(m):
    return jax.jit(jax.grad(lambda p: jnp.sum(m.apply({**v, "params": p}, x)**2)))(v["params"])
  chex.assert_trees_all_close(grads(auto), grads(ref), rtol=2e-4, atol=2e-5)
