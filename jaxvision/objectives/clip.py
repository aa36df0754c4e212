"""CLIP's objective (Radford et al. 2021, fig. 3): symmetric InfoNCE between the image and
text embeddings of a batch of pairs, with a learned temperature.

The "image_text" stream (jaxvision/data/image_text.py) gives {'image', 'tokens'}; both towers
run in one forward pass and jaxvision.losses.clip_loss compares every image with every caption
of the *global* batch (one jit over the sharded arrays: the all-gather of CLIP's
distributed code is inserted by XLA). The model must be jaxvision.models.clip.CLIP.
Evaluation is zero-shot classification with held-out prompt templates ("zero_shot"). The
stream and the evaluator read the objective's ClipSettings (config.clip and the text tower's
context_length and vocab_size).
"""

import dataclasses
import math

import flax.linen as nn
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.settings.clip import ClipSettings


def pair_accuracy(image_emb, text_emb):
  """Fraction of images whose most similar caption in the batch is their own (image->text)."""
  text = text_emb.astype(jnp.float32)
  text = text / jnp.maximum(jnp.linalg.norm(text, axis=-1, keepdims=True), 1e-12)
  sims = image_emb.astype(jnp.float32) @ text.T  # the image's norm does not change the argmax
  return jnp.mean((jnp.argmax(sims, -1) == jnp.arange(sims.shape[0])).astype(jnp.float32))


@dataclasses.dataclass(frozen=True)
class Clip:
  model: nn.Module
  settings: ClipSettings = ClipSettings()  # the stream's and the evaluator's
  train_stream = "image_text"
  evaluation = "zero_shot"

  @classmethod
  def from_config(cls, model, config):
    for method in ("encode_image", "encode_text"):
      if not hasattr(model, method):
        raise UserError(f"objective 'clip' needs a CLIP model (clip, clip_vit_b32, ...), got "
                        f"{config.model.name!r}")
    # The data side tokenizes to model.context_length from the config (it cannot build the
    # model): a variant's own default would silently disagree, so it must be written out.
    settings = ClipSettings.from_config(config)  # an unknown clip.* key is an error here
    if settings.context_length != model.context_length:
      raise UserError(f"model {config.model.name!r} reads {model.context_length} tokens but "
                      f"the tokenizer would pad to {settings.context_length}; set "
                      f"model.context_length={model.context_length} in the config")
    return cls(model=model, settings=settings)

  def stream_args(self, workdir: str) -> dict:
    del workdir  # nothing of this method's is kept there
    return {"settings": self.settings}

  def init_inputs(self, input_shape):
    return (jnp.zeros((2, *input_shape), jnp.float32),
            jnp.zeros((2, self.model.context_length), jnp.int32))

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    del rng  # no dropout in CLIP
    image_emb, text_emb, logit_scale = self.model.apply(
        {"params": params, **model_state}, batch["image"], batch["tokens"], train=True)
    loss = losses.clip_loss(image_emb, text_emb, logit_scale=logit_scale)
    scale = jnp.exp(jnp.minimum(logit_scale, math.log(100.0)))
    metrics = {"loss": loss, "logit_scale": scale,
               "pair_accuracy": pair_accuracy(image_emb, text_emb)}
    return loss, (metrics, model_state)
