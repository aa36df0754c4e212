"""Rotation prediction (Gidaris, Singh, Komodakis 2018, "Unsupervised Representation Learning
by Predicting Image Rotations").

Every image of the batch is shown at 0, 90, 180 and 270 degrees in the same step (4B
examples; the paper found feeding all four copies together better than one random rotation),
and the model (jaxvision.models.ssl.RotationNet) classifies which rotation it sees. The
rotations are made on the device inside the jitted step from the "single" stream's augmented
views; the stream's labels are never read.
"""

import dataclasses

import flax.linen as nn
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.objectives.supervised import apply_model


@dataclasses.dataclass(frozen=True)
class Rotation:
  model: nn.Module
  train_stream = "single"
  evaluation = "representation"

  @classmethod
  def from_config(cls, model, config):
    if getattr(model, "num_classes", None) != 4:
      raise UserError(f"objective 'rotation' needs a 4-way model such as model.name='rotnet'"
                       f", got {type(model).__name__} with num_classes="
                       f"{getattr(model, 'num_classes', None)}")
    return cls(model=model)

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    images = batch["image"]
    rotated = losses.rotate_batch(images)
    targets = losses.rotation_targets(images.shape[0])
    logits, new_state = apply_model(self.model, params, model_state, rotated, train=True,
                                    rng=rng)
    loss = losses.softmax_cross_entropy(logits, targets)
    accuracy = jnp.mean((jnp.argmax(logits, -1) == targets).astype(jnp.float32))
    return loss, ({"loss": loss, "rotation_accuracy": accuracy}, new_state)
