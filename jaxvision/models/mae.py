"""Masked autoencoder (He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners").

Following facebookresearch/mae `models_mae.py`: the image is cut into patches, each sample
keeps a random (1 - mask_ratio) of them (argsort of uniform noise,
`losses.random_masking_indices`), the ViT encoder runs on the visible patches only (plus the
class token), and a light transformer decoder gets the encoded visible tokens back in place
among shared learned mask tokens, adds its own fixed sin-cos position table and predicts the
p*p*C pixel values of every patch (raster order, (row, col, channel) inside a patch, as
`losses.patchify`). Both position tables are the fixed 2-D sin-cos of the reference.

`encoder` is a `vit.ViT` (num_classes=0, pos_embed='sincos'): its params are exactly those of
the zoo classifier `get_model('vit_*', pos_embed='sincos', ...)` minus the head, so
`--config.init_from` fine-tunes one from MAE pre-training. `features(x)` runs the encoder on
all patches without masking (the linear-probe representation).

`__call__(x, train, mask_ratio)` returns (pred (N, L, p*p*C), mask (N, L) with 1 = removed);
the masking noise comes from the 'mask' rng stream (a fixed key when none is given, e.g. in
`model.init`, so initialisation needs no extra stream).
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.models import vit as vit_lib
from jaxvision.models.registry import ModelSpec


class MAE(nn.Module):
  """Masked autoencoder around a ViT encoder; see the module docstring."""

  num_classes: int = 0  # Unused (pre-training has no labels); the loop passes the dataset's.
  image_size: int = 224
  patch_size: int = 16
  channels: int = 3
  hidden_dim: int = 768
  depth: int = 12
  num_heads: int = 12
  mlp_ratio: float = 4.0
  decoder_dim: int = 512
  decoder_depth: int = 8
  decoder_heads: int = 16
  class_token: bool = True
  pooling: str = "cls"  # of `features`: the class token (paper's probe) or the patch mean
  ln_eps: float = 1e-6
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def setup(self):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    self.encoder = vit_lib.ViT(
        num_classes=0, image_size=self.image_size, patch_size=self.patch_size,
        hidden_dim=self.hidden_dim, depth=self.depth, num_heads=self.num_heads,
        mlp_ratio=self.mlp_ratio, class_token=self.class_token, pos_embed="sincos",
        pooling=self.pooling, ln_eps=self.ln_eps, **kw)
    dense = functools.partial(nn.Dense, kernel_init=vit_lib.dense_init, **kw)
    self.decoder_embed = dense(self.decoder_dim)
    self.mask_token = self.param("mask_token", nn.initializers.normal(0.02),
                                 (1, 1, self.decoder_dim), self.param_dtype)
    mlp_dim = int(self.decoder_dim * self.mlp_ratio)
    self.decoder_blocks = [
        vit_lib.Block(self.decoder_dim, self.decoder_heads, mlp_dim, ln_eps=self.ln_eps,
                      name=f"decoder_block_{i}", **kw) for i in range(self.decoder_depth)]
    self.decoder_norm = nn.LayerNorm(epsilon=self.ln_eps, **kw)
    self.decoder_pred = dense(self.patch_size * self.patch_size * self.channels)

  def _check(self, x):
    if x.ndim != 4 or x.shape[-1] != self.channels:
      raise UserError(f"MAE built for {self.channels}-channel images got input shape "
                      f"{tuple(x.shape)}; set model.channels={x.shape[-1]}")

  def encode(self, x, *, mask_ratio: float, rng, train: bool = False):
    """Encoder on the visible patches: (latent (N, 1 + keep, D), mask, ids_restore)."""
    self._check(x)
    tokens = self.encoder.embed_patches(x)
    n, length, _ = tokens.shape
    ids_keep, mask, ids_restore = losses.random_masking_indices(
        rng, n, length, mask_ratio=mask_ratio)
    visible = jnp.take_along_axis(tokens, ids_keep[:, :, None], axis=1)
    latent = self.encoder.encode_tokens(self.encoder.prepend_cls(visible), train=train)
    return latent, mask, ids_restore

  def decode(self, latent, ids_restore):
    """Visible latents + mask tokens, unshuffled -> (N, L, p*p*C) pixel predictions."""
    y = self.decoder_embed(latent)
    n, length = ids_restore.shape
    start = int(self.class_token)
    kept = y[:, start:]
    fill = jnp.broadcast_to(self.mask_token.astype(y.dtype),
                            (n, length - kept.shape[1], self.decoder_dim))
    patches = jnp.take_along_axis(jnp.concatenate([kept, fill], axis=1),
                                  ids_restore[:, :, None], axis=1)
    grid = self.image_size // self.patch_size
    table = vit_lib.sincos_pos_embed_2d(self.decoder_dim, grid, grid)
    patches = patches + jnp.asarray(table[None], y.dtype)
    # The class token's decoder position row is zeros in the reference, so it is added as is.
    y = jnp.concatenate([y[:, :start], patches], axis=1)
    for block in self.decoder_blocks:
      y = block(y)
    return self.decoder_pred(self.decoder_norm(y))[:, start:]

  def __call__(self, x, *, train: bool = False, mask_ratio: float = 0.75):
    if not 0.0 <= mask_ratio < 1.0:
      raise UserError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    # model.init gives no 'mask' stream; a fixed key there keeps init to params/dropout only.
    rng = self.make_rng("mask") if self.has_rng("mask") else jax.random.key(0)
    latent, mask, ids_restore = self.encode(x, mask_ratio=mask_ratio, rng=rng, train=train)
    return self.decode(latent, ids_restore).astype(jnp.float32), mask

  def features(self, x, *, train: bool = False):
    """(N, hidden_dim) encoder features of the whole image (no masking), for probes."""
    self._check(x)
    return self.encoder.features(x, train=train)


def mae_vit(name: str, **overrides):
  """MAE with the encoder of ViT variant `name` and the paper's decoder (512-d, 8 blocks)."""
  width, depth, heads = vit_lib.VARIANTS[name]
  kw = dict(hidden_dim=width, depth=depth, num_heads=heads)
  kw.update(overrides)
  return functools.partial(MAE, **kw)


# The paper's models (decoder 512-d, 8 blocks, 16 heads; vit_large uses the same decoder) and a
# tiny one for tests.
MODELS = {
    "mae_vit_base": ModelSpec(mae_vit("vit_base"), (224, 224, 3),
                              "MAE, ViT-B/16 encoder, 512-d 8-block decoder (He et al. 2022)"),
    "mae_vit_large": ModelSpec(mae_vit("vit_large"), (224, 224, 3),
                               "MAE, ViT-L/16 encoder, 512-d 8-block decoder (He et al. 2022)"),
    "mae_vit_small": ModelSpec(mae_vit("vit_small"), (224, 224, 3),
                               "MAE, ViT-S/16 encoder, 512-d 8-block decoder"),
    "mae_vit_tiny": ModelSpec(mae_vit("vit_tiny"), (224, 224, 3),
                              "MAE, ViT-Ti/16 encoder, 512-d 8-block decoder"),
    # Laptop: vit_mini encoder (96-d, 4 blocks), 64-d 2-block decoder; patch and size from the
    # config (configs/mae_fashion_mnist.py: 28x28, patch 4).
    "mae_vit_mini": ModelSpec(mae_vit("vit_mini", decoder_dim=64, decoder_depth=2,
                                      decoder_heads=4), (224, 224, 3),
                              "MAE, 96-d 4-block ViT encoder, 64-d 2-block decoder (laptop)"),
    "mae_test": ModelSpec(mae_vit("vit_test", image_size=16, patch_size=4, decoder_dim=16,
                                  decoder_depth=1, decoder_heads=2), (16, 16, 3),
                          "MAE, tiny (32-d 2-block encoder, 16-d 1-block decoder), for tests"),
}
