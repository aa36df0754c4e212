"""GEMM convolutions (models/conv_gemm.py) against XLA's lax.conv_general_dilated."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision import models
from jaxvision.models.conv_gemm import gemm_conv_general_dilated

CASES = [(5, 3, 1, ((1, 1), (1, 1)), 3, 4), (7, 3, 2, ((1, 1), (1, 1)), 2, 5),
         (8, 7, 2, ((3, 3), (3, 3)), 3, 6), (6, 1, 2, ((0, 0), (0, 0)), 4, 3),
         (5, 3, 1, "SAME", 2, 2), (9, 3, 2, "VALID", 2, 2), (4, 3, 1, ((0, 2), (1, 0)), 2, 3)]


@pytest.mark.parametrize("hw,k,s,pad,cin,cout", CASES)
def test_values_and_gradients_equal_lax(hw, k, s, pad, cin, cout):
  x = jnp.asarray(np.random.default_rng(hw + k).normal(size=(2, hw, hw, cin)), jnp.float32)
  xla = nn.Conv(cout, (k, k), (s, s), padding=pad)
  gemm = nn.Conv(cout, (k, k), (s, s), padding=pad, conv_general_dilated=gemm_conv_general_dilated)
  v = xla.init(jax.random.key(0), x)
  assert jax.tree.structure(v) == jax.tree.structure(gemm.init(jax.random.key(0), x))

  def grads(m):
    return jax.grad(lambda v, x: jnp.sum(jnp.sin(m.apply(v, x))), argnums=(0, 1))(v, x)

  np.testing.assert_allclose(gemm.apply(v, x), xla.apply(v, x), rtol=1e-5, atol=1e-5)
  for a, b in zip(jax.tree.leaves(grads(gemm)), jax.tree.leaves(grads(xla))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_grouped_and_dilated_convs_fall_back_to_lax():
  x = jnp.ones((1, 6, 6, 4))
  for kw in ({"feature_group_count": 2}, {"kernel_dilation": (2, 2)}):
    a, b = nn.Conv(4, (3, 3), **kw), nn.Conv(4, (3, 3), conv_general_dilated=gemm_conv_general_dilated, **kw)
    v = a.init(jax.random.key(0), x)
    np.testing.assert_allclose(a.apply(v, x), b.apply(v, x), rtol=1e-6)


def test_resnet_with_gemm_convs_is_the_same_network():
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 16, 16, 3)), jnp.float32)
  xla = models.get_model("resnet20", num_classes=10)
  gemm = models.get_model("resnet20", num_classes=10, conv_impl="gemm")
  v = xla.init(jax.random.key(0), x, train=False)
  np.testing.assert_allclose(gemm.apply(v, x, train=False), xla.apply(v, x, train=False),
                             rtol=1e-4, atol=1e-5)
