"""SimCLR (Chen, Kornblith, Norouzi, Hinton 2020, "A Simple Framework for Contrastive
Learning of Visual Representations").

The "two_view" stream gives two independently augmented views of each image (no labels).
Both views go through the model in ONE forward pass, concatenated along the batch, as in
SimCLR's code (`tf.concat(tf.split(features, 2, -1), 0)`): batch norm then normalises over
all 2N views of the global batch (one jit over the sharded global array, so the statistics
are global without a cross-replica op). The NT-Xent loss is computed on the global (2N, 128)
projections, so each anchor's negatives are the other 2N - 2 views of the whole global
batch, not of one device.

Settings (`config.simclr`, all optional): temperature (0.5 for CIFAR-size batches as in the
paper's CIFAR-10 experiments, 0.1 for ImageNet at batch 4096), crop_scale, color_strength and
blur (handed to the stream, jaxvision/data/streams.py), all in jaxvision.settings.simclr.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.settings.simclr import SimCLRSettings
from jaxvision.objectives.supervised import apply_model


def contrastive_accuracy(z_a, z_b):
  """Fraction of the 2N anchors whose most similar other view is their positive (the
  `contrast_acc` SimCLR's code logs)."""
  z = jnp.concatenate([z_a, z_b]).astype(jnp.float32)
  z = z * jax.lax.rsqrt(jnp.maximum(jnp.sum(z * z, -1, keepdims=True), 1e-12))
  n = z_a.shape[0]
  sims = z @ z.T - 1e9 * jnp.eye(2 * n)
  positive = (jnp.arange(2 * n) + n) % (2 * n)
  return jnp.mean((jnp.argmax(sims, -1) == positive).astype(jnp.float32))


@dataclasses.dataclass(frozen=True)
class SimCLR:
  model: nn.Module
  temperature: float = 0.5
  settings: SimCLRSettings = SimCLRSettings()  # its augmentation: the stream's
  train_stream = "two_view"
  evaluation = "representation"

  @classmethod
  def from_config(cls, model, config):
    settings = SimCLRSettings.from_config(config)
    return cls(model=model, temperature=settings.temperature, settings=settings)

  def stream_args(self, workdir: str) -> dict:
    del workdir  # nothing of this method's is kept there
    return {"settings": self.settings}

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    view1, view2 = batch["view1"], batch["view2"]
    n = view1.shape[0]
    z, new_state = apply_model(self.model, params, model_state,
                               jnp.concatenate([view1, view2]), train=True, rng=rng)
    z_a, z_b = z[:n], z[n:]
    loss = losses.nt_xent(z_a, z_b, temperature=self.temperature)
    return loss, ({"loss": loss, "contrastive_accuracy": contrastive_accuracy(z_a, z_b)},
                  new_state)
