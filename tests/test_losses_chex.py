"""Every loss in jaxvision.losses, with and without jit (chex.variants), against numpy.

The numpy side is written from each paper's formula, loop by loop where that is clearer, and
never calls jaxvision. Inputs are bfloat16 and float32 where the contract says float32 inside.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from jaxvision.losses import classification, consistency, contrastive, masked

RNG = np.random.default_rng(0)


def _log_softmax(x):
  x = x - x.max(axis=-1, keepdims=True)
  return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _softmax(x):
  return np.exp(_log_softmax(x))


def _unit(x):
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-6)


class LossesTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(0.0, 0.1)
  def test_softmax_cross_entropy(self, smoothing):
    logits = RNG.normal(size=(6, 5)).astype(np.float32)
    labels = RNG.integers(0, 5, size=6)
    fn = self.variant(lambda l, y: classification.softmax_cross_entropy(
        l, y, label_smoothing=smoothing))
    got = fn(jnp.asarray(logits), jnp.asarray(labels))
    chex.assert_shape(got, ())
    chex.assert_type(got, jnp.float32)
    # Szegedy et al. 2016, sec. 7: q' = (1 - e) delta + e / K.
    expected = np.mean([-(1 - smoothing) * _log_softmax(logits)[i, labels[i]]
                        - smoothing / 5 * _log_softmax(logits)[i].sum() for i in range(6)])
    np.testing.assert_allclose(got, expected, rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_bfloat16_logits_are_computed_in_float32(self):
    logits = RNG.normal(size=(4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    bf16 = jnp.asarray(logits, jnp.bfloat16)
    got = self.variant(classification.per_example_cross_entropy)(bf16, jnp.asarray(labels))
    chex.assert_shape(got, (4,))
    chex.assert_type(got, jnp.float32)
    rounded = np.asarray(bf16.astype(jnp.float32))
    np.testing.assert_allclose(got, -_log_softmax(rounded)[np.arange(4), labels], rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_topk_correct(self):
    logits = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]], np.float32)
    labels = np.array([2, 2, 2])
    got = self.variant(lambda l, y: classification.topk_correct(l, y, k=2))(logits, labels)
    np.testing.assert_array_equal(got, [1.0, 0.0, 1.0])

  @chex.variants(with_jit=True, without_jit=True)
  def test_sharpen_is_eq7(self):
    p = _softmax(RNG.normal(size=(3, 4))).astype(np.float32)
    got = self.variant(lambda q: consistency.sharpen(q, temperature=0.5))(p)
    expected = p ** 2 / (p ** 2).sum(axis=-1, keepdims=True)
    chex.assert_trees_all_close(got, expected.astype(np.float32), rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_mixup_keeps_the_larger_weight_on_the_first_pair(self):
    x1, x2 = RNG.normal(size=(2, 2, 3)).astype(np.float32)
    y1, y2 = np.eye(3, dtype=np.float32)[[0, 1]], np.eye(3, dtype=np.float32)[[2, 2]]
    x, y = self.variant(lambda a, b, c, d: consistency.mixup(a, b, c, d, lam=0.3))(
        x1, y1, x2, y2)
    # Eq. 9: lam' = max(0.3, 0.7) = 0.7.
    np.testing.assert_allclose(x, 0.7 * x1 + 0.3 * x2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y, 0.7 * y1 + 0.3 * y2, rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_mixmatch_losses_are_eqs_3_and_4(self):
    lx, lu = RNG.normal(size=(4, 5)).astype(np.float32), RNG.normal(size=(6, 5)).astype(
        np.float32)
    tx, tu = _softmax(RNG.normal(size=(4, 5))), _softmax(RNG.normal(size=(6, 5)))
    loss_x, loss_u = self.variant(consistency.mixmatch_losses)(lx, tx, lu, tu)
    expected_x = -np.mean(np.sum(tx * _log_softmax(lx), axis=-1))
    expected_u = np.sum((_softmax(lu) - tu) ** 2) / (5 * 6)  # 1/(K |U'|) sum ||q - p||^2
    np.testing.assert_allclose([loss_x, loss_u], [expected_x, expected_u], rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_ema_update_keeps_tree_and_dtypes(self):
    ema = {"a": jnp.ones((2,), jnp.bfloat16), "b": {"c": jnp.zeros((3,), jnp.float32)}}
    new = {"a": jnp.full((2,), 3.0, jnp.bfloat16), "b": {"c": jnp.ones((3,), jnp.float32)}}
    got = self.variant(lambda e, p: consistency.ema_update(e, p, decay=0.75))(ema, new)
    chex.assert_trees_all_equal_structs(got, ema)
    chex.assert_trees_all_equal_dtypes(got, ema)
    chex.assert_trees_all_close(got["a"].astype(jnp.float32), np.full(2, 1.5), rtol=1e-2)
    chex.assert_trees_all_close(got["b"]["c"], np.full(3, 0.25, np.float32), rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_nt_xent_is_simclr_eq1(self):
    n, d, tau = 4, 8, 0.5
    za, zb = RNG.normal(size=(n, d)).astype(np.float32), RNG.normal(size=(n, d)).astype(
        np.float32)
    got = self.variant(lambda a, b: contrastive.nt_xent(a, b, temperature=tau))(za, zb)
    chex.assert_shape(got, ())
    z = _unit(np.concatenate([za, zb]))
    total = 0.0
    for i in range(2 * n):
      pos = (i + n) % (2 * n)
      sims = np.array([z[i] @ z[k] / tau for k in range(2 * n) if k != i])
      total += -(z[i] @ z[pos] / tau) + np.log(np.exp(sims).sum())
    np.testing.assert_allclose(got, total / (2 * n), rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(np.log(1 / 0.07), np.log(500.0))
  def test_clip_loss_is_symmetric_infonce_with_clipped_scale(self, logit_scale):
    img, txt = RNG.normal(size=(5, 6)).astype(np.float32), RNG.normal(size=(5, 6)).astype(
        np.float32)
    got = self.variant(lambda a, b: contrastive.clip_loss(a, b, logit_scale=logit_scale))(
        img, txt)
    scale = min(np.exp(logit_scale), 100.0)  # Radford et al. 2021, sec. 2.5
    logits = scale * _unit(img) @ _unit(txt).T
    i2t = -np.mean(np.diag(_log_softmax(logits)))
    t2i = -np.mean(np.diag(_log_softmax(logits.T)))
    np.testing.assert_allclose(got, (i2t + t2i) / 2, rtol=1e-4)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(False, True)
  def test_masked_patch_mse(self, norm_pix):
    p, c = 2, 3
    images = RNG.normal(size=(2, 4, 4, c)).astype(np.float32)
    pred = RNG.normal(size=(2, 4, p * p * c)).astype(np.float32)
    mask = np.array([[1, 0, 0, 1], [0, 1, 1, 1]], np.float32)
    got = self.variant(lambda i, q, m: masked.masked_patch_mse(
        i, q, m, patch_size=p, norm_pix=norm_pix))(images, pred, mask)
    num, den = 0.0, 0.0
    for n in range(2):
      for row in range(2):
        for col in range(2):
          target = images[n, row * p:(row + 1) * p, col * p:(col + 1) * p].reshape(-1)
          if norm_pix:  # He et al. 2022, sec. 4; unbiased variance as the reference's torch.var
            target = (target - target.mean()) / np.sqrt(target.var(ddof=1) + 1e-6)
          j = row * 2 + col
          num += mask[n, j] * np.mean((pred[n, j] - target) ** 2)
          den += mask[n, j]
    np.testing.assert_allclose(got, num / den, rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_patchify_round_trip(self):
    images = RNG.normal(size=(2, 6, 4, 3)).astype(np.float32)
    fn = self.variant(lambda x: masked.unpatchify(masked.patchify(x, patch_size=2),
                                                  patch_size=2, channels=3, height=6, width=4))
    chex.assert_trees_all_equal(fn(images), images)


def test_random_masking_indices_invert_and_count():
  ids_keep, mask, ids_restore = masked.random_masking_indices(
      jax.random.key(0), 3, 16, mask_ratio=0.75)
  chex.assert_shape([ids_keep, mask, ids_restore], [(3, 4), (3, 16), (3, 16)])
  ids_keep, mask, ids_restore = map(np.asarray, (ids_keep, mask, ids_restore))
  for n in range(3):
    shuffle = np.argsort(ids_restore[n])  # the inverse of the inverse
    np.testing.assert_array_equal(shuffle[:4], ids_keep[n])
    assert mask[n].sum() == 12 and np.all(mask[n, ids_keep[n]] == 0)


if __name__ == "__main__":
  pytest.main([__file__])
