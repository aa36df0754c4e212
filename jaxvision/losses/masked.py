"""Masked-autoencoder pieces (He et al. 2022, "Masked Autoencoders Are Scalable Vision
Learners"): patch layout, per-sample random masking and the masked-patch pixel loss.

The patch layout and masking follow facebookresearch/mae `models_mae.py` exactly, so that
decoder weights and reconstructions are interchangeable with the reference.
"""

import jax
import jax.numpy as jnp


def patchify(images, *, patch_size: int):
  """Cuts NHWC images into non-overlapping square patches.

  Args:
    images: (N, H, W, C) with H and W multiples of `patch_size`.
    patch_size: p, the side of a patch in pixels.

  Returns:
    (N, L, p*p*C) with L = (H/p) * (W/p). Patches are in raster order (patch row-major over the
    image); inside a patch vector the order is (row in patch, column in patch, channel), the
    order the MAE reference produces with einsum('nchpwq->nhwpqc') on NCHW input. The dtype is
    kept: this is a pure relayout.
  """
  n, h, w, c = images.shape
  p = patch_size
  if h % p or w % p:
    raise ValueError(f"image size {h}x{w} is not a multiple of patch_size {p}")
  gh, gw = h // p, w // p
  x = images.reshape(n, gh, p, gw, p, c)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))  # (n, gh, gw, p_row, p_col, c)
  return x.reshape(n, gh * gw, p * p * c)


def unpatchify(patches, *, patch_size: int, channels: int, height=None, width=None):
  """Inverse of `patchify`: (N, L, p*p*C) -> (N, H, W, C).

  The grid is square (H = W = p * sqrt(L)) unless `height` and `width` (in pixels) are given,
  which a non-square image needs because L alone does not determine its shape.
  """
  n, num_patches, dim = patches.shape
  p = patch_size
  if dim != p * p * channels:
    raise ValueError(f"patch vectors have {dim} values, expected {p}*{p}*{channels}")
  if (height is None) != (width is None):
    raise ValueError("give both height and width, or neither for a square image")
  if height is None:
    gh = gw = int(round(num_patches ** 0.5))
  else:
    if height % p or width % p:
      raise ValueError(f"image size {height}x{width} is not a multiple of patch_size {p}")
    gh, gw = height // p, width // p
  if gh * gw != num_patches:
    raise ValueError(f"{num_patches} patches do not form a {gh}x{gw} grid")
  x = patches.reshape(n, gh, gw, p, p, channels)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))  # (n, gh, p_row, gw, p_col, c)
  return x.reshape(n, gh * p, gw * p, channels)


def masked_patch_mse(images, pred, mask, *, patch_size: int, norm_pix: bool):
  """MAE reconstruction loss: mean squared error on the masked patches only.

  Args:
    images: (N, H, W, C) the unmasked input images (target pixels).
    pred: (N, L, p*p*C) decoder output, in `patchify` layout.
    mask: (N, L), 1 for masked (removed) patches, 0 for visible ones.
    patch_size: p.
    norm_pix: normalise each target patch by its own mean and standard deviation,
      (x - mean) / (var + 1e-6) ** 0.5 (the paper's "normalized pixels" target, sec. 4).
      The variance is the *unbiased* one (divides by p*p*C - 1): the reference computes
      `target.var(dim=-1)`, and torch's `var` defaults to Bessel's correction. We match it so
      that losses are comparable with the reference.

  Returns:
    float32 scalar: sum over patches of mask * mean_over_patch_vector((pred - target)^2),
    divided by sum(mask). When no patch is masked the loss is 0 (the reference would give
    NaN from 0/0).
  """
  target = patchify(images.astype(jnp.float32), patch_size=patch_size)
  pred = pred.astype(jnp.float32)
  mask = mask.astype(jnp.float32)
  if pred.shape != target.shape:
    raise ValueError(f"pred has shape {pred.shape}, the patchified images {target.shape}")
  if norm_pix:
    mean = jnp.mean(target, axis=-1, keepdims=True)
    var = jnp.var(target, axis=-1, keepdims=True, ddof=1)
    target = (target - mean) / jnp.sqrt(var + 1e-6)
  per_patch = jnp.mean(jnp.square(pred - target), axis=-1)  # (N, L)
  # With no masked patch the numerator is exactly 0, so a tiny floor turns 0/0 into 0.
  return jnp.sum(per_patch * mask) / jnp.maximum(jnp.sum(mask), 1e-12)


def random_masking_indices(rng, n: int, num_patches: int, *, mask_ratio: float):
  """Per-sample random masking by argsort of uniform noise, as MAE's `random_masking`.

  Args:
    rng: a jax PRNG key.
    n: batch size N; num_patches: L.
    mask_ratio: fraction of patches to remove.

  Returns:
    ids_keep: (N, len_keep) int32, the indices of the kept patches (in shuffled order),
      with len_keep = int(L * (1 - mask_ratio)) exactly as the reference (Python float
      truncation: e.g. L=10, ratio 0.9 keeps int(0.999...) = 0 patches).
    mask: (N, L) float32 in original patch order, 1 = removed, 0 = kept.
    ids_restore: (N, L) int32, the inverse permutation: gathering the shuffled sequence
      [kept tokens, mask tokens] with it restores the original patch order.
  """
  len_keep = int(num_patches * (1 - mask_ratio))
  noise = jax.random.uniform(rng, (n, num_patches))
  ids_shuffle = jnp.argsort(noise, axis=1).astype(jnp.int32)  # small noise is kept
  ids_restore = jnp.argsort(ids_shuffle, axis=1).astype(jnp.int32)
  ids_keep = ids_shuffle[:, :len_keep]
  # The reference builds [0]*len_keep + [1]*(L - len_keep) and gathers it with ids_restore;
  # position j of that gather is 1 exactly when ids_restore[j] >= len_keep.
  mask = (ids_restore >= len_keep).astype(jnp.float32)
  return ids_keep, mask, ids_restore
