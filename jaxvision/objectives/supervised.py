"""Supervised classification: cross-entropy on the labels, auxiliary heads weighted in."""

import dataclasses

import flax.linen as nn
import jax.numpy as jnp

from jaxvision import losses


def split_aux(outputs):
  """Models with auxiliary classifiers return (logits, (aux, ...)) in training only."""
  if isinstance(outputs, tuple):
    return outputs[0], tuple(outputs[1])
  return outputs, ()


def apply_model(model: nn.Module, params, model_state, images, *, train: bool, rng=None):
  """Runs `model`, returning (outputs, new_model_state); mutable collections only in training."""
  variables = {"params": params, **model_state}
  rngs = {"dropout": rng} if rng is not None else {}
  if train and model_state:
    return model.apply(variables, images, train=True, rngs=rngs, mutable=list(model_state))
  return model.apply(variables, images, train=train, rngs=rngs), model_state


@dataclasses.dataclass(frozen=True)
class Supervised:
  model: nn.Module
  label_smoothing: float = 0.0
  train_stream = "single"            # class attributes: jaxvision.data.streams, .evaluate.evaluators
  evaluation = "classification"
  # GoogLeNet (Szegedy et al. 2015, sec. 5) adds its auxiliary losses with weight 0.3.
  aux_loss_weight: float = 0.3

  @classmethod
  def from_config(cls, model, config):
    return cls(model=model, label_smoothing=config.get("label_smoothing", 0.0),
               aux_loss_weight=config.get("aux_loss_weight", 0.3))

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    outputs, new_state = apply_model(self.model, params, model_state, batch["image"],
                                     train=True, rng=rng)
    logits, aux = split_aux(outputs)
    labels = batch["label"]
    loss = losses.softmax_cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
    for aux_logits in aux:
      loss += self.aux_loss_weight * losses.softmax_cross_entropy(
          aux_logits, labels, label_smoothing=self.label_smoothing)
    accuracy = jnp.mean((jnp.argmax(logits, -1) == labels).astype(jnp.float32))
    return loss, ({"loss": loss, "accuracy": accuracy}, new_state)
