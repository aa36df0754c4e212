"""MAE patch layout, masked pixel loss and random masking against the reference's rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.losses.masked import (masked_patch_mse, patchify, random_masking_indices,
                                     unpatchify)


def _np_patchify_reference(images_nhwc, p):
  """The MAE reference's patchify, transcribed to numpy on NCHW (einsum 'nchpwq->nhwpqc')."""
  imgs = np.transpose(images_nhwc, (0, 3, 1, 2))
  n, c, h, w = imgs.shape
  x = imgs.reshape(n, c, h // p, p, w // p, p)
  x = np.einsum("nchpwq->nhwpqc", x)
  return x.reshape(n, (h // p) * (w // p), p * p * c)


def _np_masked_mse(images, pred, mask, p, norm_pix):
  target = _np_patchify_reference(images.astype(np.float64), p)
  if norm_pix:
    mean = target.mean(-1, keepdims=True)
    var = target.var(-1, keepdims=True, ddof=1)  # torch.var default: unbiased
    target = (target - mean) / (var + 1e-6) ** 0.5
  loss = ((pred - target) ** 2).mean(-1)
  return (loss * mask).sum() / mask.sum()


def _rng(seed):
  return np.random.default_rng(seed)


@pytest.mark.parametrize("shape,p", [((2, 8, 8, 3), 4), ((1, 6, 4, 2), 2)])
def test_patchify_matches_reference_einsum(shape, p):
  x = _rng(0).normal(size=shape).astype(np.float32)
  np.testing.assert_array_equal(patchify(x, patch_size=p), _np_patchify_reference(x, p))


def test_patchify_hand_checked_ordering():
  # 4x4 image, 2 channels, patch 2: pixel (r, c, ch) holds 100*r + 10*c + ch.
  r, c, ch = np.meshgrid(np.arange(4), np.arange(4), np.arange(2), indexing="ij")
  img = (100 * r + 10 * c + ch)[None].astype(np.float32)
  out = np.asarray(patchify(img, patch_size=2))
  assert out.shape == (1, 4, 8)
  # Patch 1 is the top-right one (raster order): rows 0-1, columns 2-3, ordered
  # (row in patch, column in patch, channel).
  np.testing.assert_array_equal(out[0, 1], [20, 21, 30, 31, 120, 121, 130, 131])
  # Patch 2 is bottom-left.
  np.testing.assert_array_equal(out[0, 2], [200, 201, 210, 211, 300, 301, 310, 311])


def test_unpatchify_round_trip_square_and_rectangular():
  x = _rng(1).normal(size=(2, 8, 8, 3)).astype(np.float32)
  back = unpatchify(patchify(x, patch_size=4), patch_size=4, channels=3)
  np.testing.assert_array_equal(back, x)
  y = _rng(2).normal(size=(2, 6, 10, 1)).astype(np.float32)
  back = unpatchify(patchify(y, patch_size=2), patch_size=2, channels=1, height=6, width=10)
  np.testing.assert_array_equal(back, y)


def test_unpatchify_rejects_non_square_without_size():
  with pytest.raises(ValueError):
    unpatchify(jnp.zeros((1, 6, 4)), patch_size=2, channels=1)


@pytest.mark.parametrize("norm_pix", [False, True])
def test_masked_patch_mse_matches_numpy(norm_pix):
  g = _rng(3)
  images = g.normal(size=(2, 8, 8, 3)).astype(np.float32)
  pred = g.normal(size=(2, 4, 48)).astype(np.float32)
  mask = (g.uniform(size=(2, 4)) < 0.5).astype(np.float32)
  mask[0, 0] = 1.0
  got = masked_patch_mse(images, pred, mask, patch_size=4, norm_pix=norm_pix)
  np.testing.assert_allclose(got, _np_masked_mse(images, pred, mask, 4, norm_pix), rtol=1e-5)


def test_masked_patch_mse_uses_unbiased_variance():
  # One patch of 4 values [0, 0, 2, 2]: mean 1, unbiased var 4/3, so targets are
  # +-1/sqrt(4/3 + 1e-6). Predicting +-1 (the biased-variance normalisation) is then wrong by
  # (1 - sqrt(3/4)) per value.
  img = np.array([0, 0, 2, 2], np.float32).reshape(1, 2, 2, 1)
  pred = np.array([-1, -1, 1, 1], np.float32).reshape(1, 1, 4)
  got = masked_patch_mse(img, pred, np.ones((1, 1)), patch_size=2, norm_pix=True)
  expected = (1.0 - 1.0 / np.sqrt(4.0 / 3.0 + 1e-6)) ** 2
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_all_ones_mask_is_plain_mse_and_mask_selects():
  g = _rng(4)
  images = g.normal(size=(2, 4, 4, 2)).astype(np.float32)
  pred = g.normal(size=(2, 4, 8)).astype(np.float32)
  target = _np_patchify_reference(images, 2)
  got = masked_patch_mse(images, pred, np.ones((2, 4)), patch_size=2, norm_pix=False)
  np.testing.assert_allclose(got, np.mean((pred - target) ** 2), rtol=1e-6)
  # Errors on visible patches do not count.
  mask = np.zeros((2, 4), np.float32)
  mask[1, 3] = 1.0
  got = masked_patch_mse(images, pred, mask, patch_size=2, norm_pix=False)
  np.testing.assert_allclose(got, np.mean((pred[1, 3] - target[1, 3]) ** 2), rtol=1e-6)
  empty = masked_patch_mse(images, pred, np.zeros((2, 4)), patch_size=2, norm_pix=False)
  assert float(empty) == 0.0


def test_bfloat16_inputs_give_float32():
  images = jnp.ones((1, 4, 4, 1), jnp.bfloat16)
  pred = jnp.zeros((1, 4, 4), jnp.bfloat16)
  out = masked_patch_mse(images, pred, jnp.ones((1, 4), jnp.bfloat16), patch_size=2,
                         norm_pix=False)
  assert out.shape == () and out.dtype == jnp.float32
  assert float(out) == 1.0


@pytest.mark.parametrize("num_patches,ratio", [(16, 0.75), (49, 0.75), (10, 0.5)])
def test_random_masking_counts_and_inverse(num_patches, ratio):
  n = 3
  ids_keep, mask, ids_restore = random_masking_indices(jax.random.key(0), n, num_patches,
                                                       mask_ratio=ratio)
  len_keep = int(num_patches * (1 - ratio))
  assert ids_keep.shape == (n, len_keep) and ids_keep.dtype == jnp.int32
  assert mask.shape == (n, num_patches) and mask.dtype == jnp.float32
  ids_keep, mask, ids_restore = map(np.asarray, (ids_keep, mask, ids_restore))
  np.testing.assert_array_equal(mask.sum(1), num_patches - len_keep)
  for i in range(n):
    # ids_restore is a permutation, and it inverts the shuffle whose head is ids_keep.
    assert sorted(ids_restore[i]) == list(range(num_patches))
    ids_shuffle = np.argsort(ids_restore[i])
    np.testing.assert_array_equal(ids_shuffle[:len_keep], ids_keep[i])
    np.testing.assert_array_equal(ids_shuffle[ids_restore[i]], np.arange(num_patches))
    # mask is 0 exactly on the kept patches, in original order.
    np.testing.assert_array_equal(np.flatnonzero(mask[i] == 0), np.sort(ids_keep[i]))
    # The reference's unshuffle: [kept tokens, mask tokens] gathered with ids_restore
    # puts every kept token back at its own index.
    seq = np.concatenate([ids_keep[i], np.full(num_patches - len_keep, -1)])
    restored = seq[ids_restore[i]]
    np.testing.assert_array_equal(restored[mask[i] == 0], np.flatnonzero(mask[i] == 0))
    assert np.all(restored[mask[i] == 1] == -1)


def test_random_masking_differs_per_sample_and_key():
  _, m1, _ = random_masking_indices(jax.random.key(1), 4, 16, mask_ratio=0.5)
  _, m2, _ = random_masking_indices(jax.random.key(2), 4, 16, mask_ratio=0.5)
  m1 = np.asarray(m1)
  assert not np.array_equal(m1, np.asarray(m2))
  assert len({tuple(r) for r in m1}) > 1
