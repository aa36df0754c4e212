"""Layer functions, with and without jit (chex.variants), against numpy written from the
definitions (PyTorch's pooling arithmetic, the LRN formula of Krizhevsky et al. sec. 3.3,
Wu & He's group norm); chex.assert_shape / assert_trees_all_close on the results."""

import chex
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from jaxvision.models import layers

RNG = np.random.default_rng(0)


def np_max_pool(x, k, s, p):
  n, h, w, c = x.shape
  xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=-np.inf)
  oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
  return np.stack([np.stack([xp[:, i * s:i * s + k, j * s:j * s + k].max(axis=(1, 2))
                             for j in range(ow)], 1) for i in range(oh)], 1)


def np_avg_pool_include_pad(x, k, s, p):
  n, h, w, c = x.shape
  xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
  oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
  return np.stack([np.stack([xp[:, i * s:i * s + k, j * s:j * s + k].sum(axis=(1, 2)) / k**2
                             for j in range(ow)], 1) for i in range(oh)], 1)


def np_lrn(x, n, k, alpha, beta):
  out = np.empty_like(x)
  c = x.shape[-1]
  for ch in range(c):
    lo, hi = max(0, ch - n // 2), min(c - 1, ch + n // 2)
    out[..., ch] = x[..., ch] / (k + alpha * (x[..., lo:hi + 1] ** 2).sum(-1)) ** beta
  return out


class LayersTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((3, 2, 1), (2, 2, 0), (3, 1, 1))
  def test_max_pool(self, k, s, p):
    x = RNG.normal(size=(2, 9, 8, 3)).astype(np.float32)
    out = self.variant(lambda v: layers.max_pool(v, k, s, p))(x)
    expected = np_max_pool(x, k, s, p)
    chex.assert_shape(out, expected.shape)
    chex.assert_trees_all_close(out, expected, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((3, 2, 1), (2, 2, 0))
  def test_avg_pool_counts_padding(self, k, s, p):
    x = RNG.normal(size=(2, 8, 7, 3)).astype(np.float32)
    out = self.variant(lambda v: layers.avg_pool(v, k, s, p))(x)
    expected = np_avg_pool_include_pad(x, k, s, p)
    chex.assert_shape(out, expected.shape)
    chex.assert_trees_all_close(out, expected, atol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(5, 3)
  def test_local_response_norm(self, n):
    x = RNG.normal(size=(2, 3, 3, 8)).astype(np.float32) * 4
    out = self.variant(lambda v: layers.local_response_norm(v, size=n, k=2.0, alpha=1e-2,
                                                            beta=0.75))(x)
    chex.assert_trees_all_close(out, np_lrn(x, n, 2.0, 1e-2, 0.75), rtol=1e-5, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(("group", 4, 4), ("group", 3, 2), ("layer", 4, 1),
                            ("instance", 4, 8))
  def test_group_norm(self, mode, groups, expected_groups):
    x = RNG.normal(size=(2, 5, 4, 8)).astype(np.float32) * 3 + 1
    module = layers.GroupNorm(mode=mode, groups=groups)
    variables = {"params": {"scale": jnp.full((8,), 2.0), "bias": jnp.full((8,), 0.5)}}
    out = self.variant(lambda v: module.apply(variables, v))(x)
    g = expected_groups
    y = x.reshape(2, 5, 4, g, 8 // g)
    mean = y.mean(axis=(1, 2, 4), keepdims=True)
    var = y.var(axis=(1, 2, 4), keepdims=True)
    expected = ((y - mean) / np.sqrt(var + 1e-5)).reshape(x.shape) * 2.0 + 0.5
    chex.assert_shape(out, x.shape)
    chex.assert_trees_all_close(out, expected, atol=1e-4)

  @chex.variants(with_jit=True, without_jit=True)
  def test_adaptive_avg_pool_unequal_bins(self):
    x = RNG.normal(size=(1, 5, 7, 2)).astype(np.float32)
    out = self.variant(lambda v: layers.adaptive_avg_pool(v, 3))(x)
    bins = lambda size: [(i * size // 3, -(-(i + 1) * size // 3)) for i in range(3)]
    expected = np.stack([np.stack([x[:, a:b, c:d].mean(axis=(1, 2)) for c, d in bins(7)], 1)
                         for a, b in bins(5)], 1)
    chex.assert_trees_all_close(out, expected, atol=1e-6)
