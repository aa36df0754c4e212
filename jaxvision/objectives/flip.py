"""Flip prediction: show every image as is and flipped, and predict which flip it was.

The rotation task of Gidaris et al. (2018) with mirror flips instead of 90-degree turns: each
image of the batch appears once per flip in `flips` (all of them, as rotation shows all four
turns), and the network classifies the flip. The flips are done on device (jnp.flip), so
the train stream is the plain "single" one; its class labels are never read.

Flips (the label is the index in `flips`):
  none        the image as it is
  horizontal  mirrored left-right (x -> W - 1 - x)
  vertical    mirrored top-bottom (y -> H - 1 - y)
  both        both mirrors, which equals a 180-degree rotation

Which flips can be told apart depends on the data. A left-right symmetric image is its own
horizontal mirror, so "none" vs "horizontal" (and "vertical" vs "both") cannot be decided
from it. Measured on Fashion-MNIST (experiments/pretext_compare.py, 300 steps of
configs/flip_fashion_mnist.py, test split): the shoes, which point one way (sandal,
sneaker, ankle boot; left-right asymmetry |x - mirror(x)| / |x| of 0.76-1.16), are told
apart on every flip 92-100% of the time; the nearly symmetric upper-body garments (t-shirt,
pullover, coat, shirt; asymmetry 0.20-0.25) only 40-73%, near the 1/2 of a coin toss
between an image and its mirror; trousers, dresses and bags (0.28-0.40) lie between.
Vertical flips alone would be learnable on every class (garments have a top), but in the
4-way task a vertically flipped symmetric garment still collides with "both". On natural
images (ImageNet) the horizontal mirror of a scene is as natural as the scene itself, which
is why horizontal flipping is a standard *augmentation*: only text, handed objects and
similar cues reveal it (not measured here).

What this objective does about it: nothing hidden. For a left-right symmetric image, "none"
looks exactly like "horizontal" and "vertical" exactly like "both", so in the 4-way task
*every* view of it has an indistinguishable partner: the best prediction is 50/50 within
the pair, a loss of log 2 and an accuracy of 1/2 on all four flips of that image. In the
3-way task only "none" and "horizontal" collide ("vertical" has no partner), and with
('none', 'vertical') nothing collides. The loss stays the plain cross-entropy over all shown
flips, so the ambiguity caps the reachable accuracy; the train metrics report the accuracy
per flip so the cap is visible, and the flip set is a config value: `flip.flips` =
('none', 'horizontal', 'vertical', 'both') (4-way, default), ('none', 'horizontal',
'vertical') (3-way) or ('none', 'vertical') (drops the ambiguous mirror altogether).
experiments/pretext_compare.py measures the per-class flip accuracy on the test split.

The data must not be mirrored at random before (no 'flip' in data.augment): that would make
"as is" and "mirrored" indistinguishable by construction; from_config refuses it.

Model: 'flipnet' (jaxvision/models/jigsaw.py): `model.encoder` + a linear head of
`model.flips` logits. Config (`config.flip`, optional): flips (the tuple above).
"""

import dataclasses

import flax.linen as nn
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.objectives.supervised import apply_model

# Array axes of an NHWC batch each flip reverses.
FLIP_AXES = {"none": (), "horizontal": (2,), "vertical": (1,), "both": (1, 2)}
DEFAULT_FLIPS = ("none", "horizontal", "vertical", "both")


def flip_images(images, flip: str):
  """One flip of an NHWC batch."""
  axes = FLIP_AXES[flip]
  return jnp.flip(images, axis=axes) if axes else images


def flip_batch(images, flips=DEFAULT_FLIPS):
  """(K N, H, W, C): [all N as flips[0], all N as flips[1], ...], with `flip_targets` labels."""
  return jnp.concatenate([flip_images(images, f) for f in flips], axis=0)


def flip_targets(n: int, num_flips: int):
  """(K n,) int32 labels [0]*n + [1]*n + ... matching `flip_batch`'s order."""
  return jnp.repeat(jnp.arange(num_flips, dtype=jnp.int32), n)


def check_flips(flips) -> tuple[str, ...]:
  flips = tuple(flips)
  unknown = [f for f in flips if f not in FLIP_AXES]
  if unknown:
    raise UserError(f"unknown flip(s) {', '.join(map(repr, unknown))} in flip.flips; "
                    f"valid: {', '.join(FLIP_AXES)}")
  if len(flips) < 2 or len(set(flips)) != len(flips):
    raise UserError(f"flip.flips needs at least two different flips, got {flips}")
  return flips


@dataclasses.dataclass(frozen=True)
class FlipPrediction:
  model: nn.Module
  flips: tuple[str, ...] = DEFAULT_FLIPS
  train_stream = "single"
  evaluation = "representation"

  @classmethod
  def from_config(cls, model, config):
    settings = config.get("flip", None) or {}
    flips = check_flips(settings.get("flips", DEFAULT_FLIPS))
    outputs = getattr(model, "num_classes", None)
    if outputs != len(flips):
      raise UserError(f"the model predicts {outputs} classes but flip.flips has "
                      f"{len(flips)} flips; use model.name='flipnet' with "
                      f"model.flips={len(flips)}")
    augment = tuple(config.data.augment) if "data" in config else ()
    if "flip" in augment and ("horizontal" in flips or "both" in flips):
      # A randomly mirrored input makes "as is" and "mirrored" the same distribution.
      raise UserError("data.augment has 'flip' (a random mirror), which turns the "
                      "horizontal-flip labels into coin tosses; remove 'flip' from data.augment")
    return cls(model=model, flips=flips)

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    images = batch["image"]
    n, k = images.shape[0], len(self.flips)
    logits, new_state = apply_model(self.model, params, model_state,
                                    flip_batch(images, self.flips), train=True, rng=rng)
    if logits.shape[-1] != k:
      raise ValueError(f"model gives {logits.shape[-1]} logits for {k} flips")
    labels = flip_targets(n, k)
    loss = losses.softmax_cross_entropy(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32).reshape(k, n)
    metrics = {"loss": loss, "accuracy": jnp.mean(correct)}
    # Per flip: symmetric images pull the accuracy of every flip with a mirror partner to 1/2.
    metrics.update({f"accuracy_{f}": jnp.mean(correct[i]) for i, f in enumerate(self.flips)})
    return loss, (metrics, new_state)
