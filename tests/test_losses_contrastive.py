"""NT-Xent and CLIP loss against numpy loops, closed forms, and 8-device sharding."""

import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxvision.losses.contrastive import clip_loss, init_logit_scale, nt_xent


def _np_normalize(x):
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _np_nt_xent(za, zb, t):
  """Anchor by anchor, written from the paper's definition (float64)."""
  z = _np_normalize(np.concatenate([za, zb]).astype(np.float64))
  two_n = len(z)
  n = two_n // 2
  total = 0.0
  for i in range(two_n):
    pos = (i + n) % two_n
    sims = np.array([z[i] @ z[k] / t for k in range(two_n) if k != i])
    total += -(z[i] @ z[pos] / t) + np.log(np.sum(np.exp(sims)))
  return total / two_n


def _np_clip(img, txt, scale_log):
  img = _np_normalize(img.astype(np.float64))
  txt = _np_normalize(txt.astype(np.float64))
  logits = np.exp(min(scale_log, math.log(100))) * img @ txt.T

  def ce(lg):  # rows are predictions, targets the diagonal
    lse = np.log(np.sum(np.exp(lg - lg.max(1, keepdims=True)), 1)) + lg.max(1)
    return np.mean(lse - np.diag(lg))

  return 0.5 * (ce(logits) + ce(logits.T))


def _random(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _data_sharding():
  return NamedSharding(Mesh(np.array(jax.devices()), ("data",)), P("data"))


@pytest.mark.parametrize("t", [0.1, 0.5])
def test_nt_xent_matches_numpy(t):
  za, zb = _random((6, 5), 0), _random((6, 5), 1)
  np.testing.assert_allclose(nt_xent(za, zb, temperature=t), _np_nt_xent(za, zb, t), rtol=1e-5)


def test_nt_xent_identical_orthogonal_views_closed_form():
  # Rows are scaled basis vectors: each anchor's positive has cosine 1, all 2N-2 negatives
  # cosine 0, so every anchor's loss is -log(e^(1/t) / (e^(1/t) + 2N - 2)).
  n, t = 4, 0.5
  z = 3.0 * np.eye(n, 6, dtype=np.float32)
  expected = math.log(1.0 + (2 * n - 2) * math.exp(-1.0 / t))
  np.testing.assert_allclose(nt_xent(z, z, temperature=t), expected, rtol=1e-6)


def test_nt_xent_is_scale_invariant_and_symmetric():
  za, zb = _random((5, 4), 2), _random((5, 4), 3)
  base = nt_xent(za, zb, temperature=0.2)
  np.testing.assert_allclose(nt_xent(7.0 * za, 0.1 * zb, temperature=0.2), base, rtol=1e-5)
  np.testing.assert_allclose(nt_xent(zb, za, temperature=0.2), base, rtol=1e-5)


def test_clip_matches_numpy_and_clips_scale():
  img, txt = _random((6, 5), 4), _random((6, 5), 5)
  for s in (init_logit_scale(), 2.0):
    np.testing.assert_allclose(clip_loss(img, txt, logit_scale=s), _np_clip(img, txt, s),
                               rtol=1e-5)
  # Above log(100) the multiplier stays at 100.
  np.testing.assert_allclose(clip_loss(img, txt, logit_scale=10.0),
                             clip_loss(img, txt, logit_scale=math.log(100)), rtol=1e-6)


def test_clip_no_gradient_to_scale_beyond_clip():
  img, txt = _random((4, 3), 6), _random((4, 3), 7)
  g = jax.grad(lambda s: clip_loss(img, txt, logit_scale=s))
  assert float(g(5.0)) == 0.0
  assert float(g(1.0)) != 0.0


def test_init_logit_scale():
  assert init_logit_scale() == pytest.approx(math.log(1 / 0.07))
  assert math.exp(init_logit_scale()) == pytest.approx(1 / 0.07)


def test_clip_perfect_alignment_large_scale_is_near_zero():
  e = np.eye(8, dtype=np.float32)
  loss = clip_loss(e, 2.0 * e, logit_scale=math.log(100))
  # exact value: log(1 + 7 e^-100), about 1e-43
  assert float(loss) < 1e-6


def test_clip_identical_embeddings_give_log_n():
  n = 8
  e = np.tile(_random((1, 4), 8), (n, 1))
  np.testing.assert_allclose(clip_loss(e, e, logit_scale=init_logit_scale()), math.log(n),
                             rtol=1e-6)


@pytest.mark.parametrize("name", ["nt_xent", "clip"])
def test_sharded_global_batch_equals_single_device(name):
  assert jax.device_count() == 8
  a, b = _random((16, 8), 9), _random((16, 8), 10)
  if name == "nt_xent":
    fn = functools.partial(nt_xent, temperature=0.1)
  else:
    fn = functools.partial(clip_loss, logit_scale=init_logit_scale())
  single = fn(jax.device_put(a, jax.devices()[0]), jax.device_put(b, jax.devices()[0]))
  sharding = _data_sharding()
  a_s, b_s = jax.device_put(a, sharding), jax.device_put(b, sharding)
  assert len(a_s.addressable_shards) == 8 and a_s.addressable_shards[0].data.shape == (2, 8)
  sharded = jax.jit(fn)(a_s, b_s)
  np.testing.assert_allclose(sharded, single, rtol=1e-5)
  # The negatives span the global batch: a per-shard loss would be different.
  per_shard = np.mean([float(fn(a[i:i + 2], b[i:i + 2])) for i in range(0, 16, 2)])
  assert abs(per_shard - float(single)) > 1e-3


def test_bfloat16_inputs_give_float32():
  a = jnp.asarray(_random((4, 3), 11), jnp.bfloat16)
  b = jnp.asarray(_random((4, 3), 12), jnp.bfloat16)
  for out in (nt_xent(a, b, temperature=0.5), clip_loss(a, b, logit_scale=1.0)):
    chex.assert_shape(out, ())
    assert out.dtype == jnp.float32
    assert np.isfinite(float(out))


def test_gradients_are_finite():
  a, b = _random((4, 3), 13), _random((4, 3), 14)
  ga, gb = jax.grad(lambda x, y: nt_xent(x, y, temperature=0.1), argnums=(0, 1))(a, b)
  chex.assert_tree_all_finite((ga, gb))
