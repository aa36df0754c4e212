"""MAE pre-training (He et al. 2022): pixel reconstruction of the masked patches.

Config (`config.mae`, all optional): mask_ratio (0.75, the paper's), norm_pix_loss (True: each
target patch normalised by its own mean and std, the paper's default "w/ norm pix" target,
Table 1d). The masking noise is the step rng's 'mask' stream, so a resumed run masks as an
uninterrupted one. Evaluated by the "representation" evaluator (linear probe and kNN on
`model.features`).
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError


@dataclasses.dataclass(frozen=True)
class MAEObjective:
  model: nn.Module
  mask_ratio: float = 0.75
  norm_pix_loss: bool = True

  # MAE's light augmentation (random resized crop, flip) is the supervised stream's
  # data.augment, so MAE needs no stream of its own.
  train_stream = "single"
  evaluation = "representation"

  @classmethod
  def from_config(cls, model, config):
    if not hasattr(model, "patch_size") or not hasattr(model, "decode"):
      raise UserError(f"objective 'mae' needs an MAE model (e.g. mae_vit_base, mae_test), "
                      f"got {type(model).__name__}; set model.name to one")
    settings = config.get("mae", None) or {}
    ratio = float(settings.get("mask_ratio", 0.75))
    if not 0.0 < ratio < 1.0:
      raise UserError(f"mae.mask_ratio must be in (0, 1), got {ratio}")
    return cls(model=model, mask_ratio=ratio,
               norm_pix_loss=bool(settings.get("norm_pix_loss", True)))

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    mask_rng, dropout_rng = jax.random.split(rng)
    images = batch["image"]
    pred, mask = self.model.apply({"params": params, **model_state}, images, train=True,
                                  mask_ratio=self.mask_ratio,
                                  rngs={"mask": mask_rng, "dropout": dropout_rng})
    loss = losses.masked_patch_mse(images, pred, mask, patch_size=self.model.patch_size,
                                   norm_pix=self.norm_pix_loss)
    return loss, ({"loss": loss, "mask_fraction": jnp.mean(mask)}, model_state)
