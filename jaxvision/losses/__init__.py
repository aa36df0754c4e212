"""Pure loss functions: arrays in, arrays out; jax only, no flax, no config, no TensorFlow."""

from jaxvision.losses.classification import (per_example_cross_entropy, soft_cross_entropy,
                                             softmax_cross_entropy, topk_correct)
from jaxvision.losses.consistency import (agreement_pseudo_labels, distribution_alignment,
                                          ema_update, linear_rampup, mixmatch_losses, mixup,
                                          pi_consistency, rotate_batch, rotation_targets,
                                          sharpen)
from jaxvision.losses.contrastive import clip_loss, init_logit_scale, nt_xent
from jaxvision.losses.masked import (masked_patch_mse, patchify, random_masking_indices,
                                     unpatchify)

__all__ = [
    "agreement_pseudo_labels", "clip_loss", "distribution_alignment", "ema_update",
    "init_logit_scale", "linear_rampup", "masked_patch_mse", "mixmatch_losses", "mixup",
    "nt_xent", "patchify", "per_example_cross_entropy", "pi_consistency",
    "random_masking_indices", "rotate_batch", "rotation_targets", "sharpen",
    "soft_cross_entropy", "softmax_cross_entropy", "topk_correct", "unpatchify",
]
