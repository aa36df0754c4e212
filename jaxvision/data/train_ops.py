"""data.augment's ops by name: what each does to an image, and which data.* keys it reads.

A training recipe is a list of names (`data.augment`), as in big_vision's preprocessing
registry; each name maps to one function `apply(image, seed, data_config) -> image` on a float
[0, 1] image, with `seed` the op's own [2] stateless seed. An op's seed is
`stateless_split(example_seed, num=len(ORDER))[ORDER.index(name)]`, and stateless_split's i-th
seed does not depend on `num`: new ops are appended to the registry, never inserted, so adding
one leaves the augmentation of every existing recipe unchanged (tests/test_protocols.py).
"""

import dataclasses
from typing import Callable

import tensorflow as tf

from jaxvision.data import augment
from jaxvision.errors import UserError


@dataclasses.dataclass(frozen=True)
class TrainOp:
  apply: Callable      # (image, seed, data_config) -> image
  keys: tuple = ()     # the data.* keys it reads, besides image_size
  # True: makes the image_size view from the whole decoded image itself, so data.resize is
  # skipped in training; a recipe holds at most one such op.
  raw_input: bool = False
  check: Callable = lambda data_config: None  # data_config -> None, or a UserError


REGISTRY: dict[str, TrainOp] = {}


def register(name: str, **kwargs):
  def wrap(apply):
    REGISTRY[name] = TrainOp(apply, **kwargs)
    return apply
  return wrap


# ----------------------------------------------------------------------------- shared pieces


def alexnet_frame(image, data_config):
  """AlexNet's fixed-size image: shorter side to data.resize_shorter, then its centre square.

  "Given a rectangular image, we first rescaled the image such that the shorter side was of
  length 256, and then cropped out the central 256x256 patch" (Krizhevsky et al., sec. 2).
  """
  side = data_config.resize_shorter
  image = augment.resize_shorter_side(image, size=side)
  return augment.center_crop(image, size=side)


def check_alexnet_frame(data_config):
  if data_config.resize_shorter < data_config.image_size:
    raise UserError(f"data.resize_shorter={data_config.resize_shorter} is smaller than "
                    f"data.image_size={data_config.image_size}; AlexNet crops image_size "
                    "from it (256 for 224)")


def random_crop(image, seed, *, size: int):
  """A size x size window at a uniformly random position, no padding (image >= size)."""
  shape = tf.stack([size, size, tf.shape(image)[-1]])
  out = tf.image.stateless_random_crop(image, shape, seed)
  return tf.ensure_shape(out, [size, size, image.shape[-1]])


def multiscale_resize(image, seed, data_config):
  """VGG scale jittering: shorter side S uniform over the integers [multiscale_min, max]."""
  return augment.random_resize_shorter_side(image, seed, min_size=data_config.multiscale_min,
                                            max_size=data_config.multiscale_max)


def checked_crop_scale(scale, key: str) -> tuple[float, float]:
  """A random-resized-crop area range as (min, max), or a one-line error naming `key`."""
  lo, hi = tuple(scale)
  if not 0.0 < lo <= hi <= 1.0:
    raise UserError(f"{key}={(lo, hi)} must satisfy 0 < min <= max <= 1")
  return lo, hi


def data_crop_scale(data_config) -> tuple[float, float]:
  """data.crop_scale; Inception's 0.08-1 for a data config made before the key existed."""
  return checked_crop_scale(data_config.get("crop_scale", (0.08, 1.0)), "data.crop_scale")


# ----------------------------------------------------------------------------- the ops
# Registration order is ORDER (below): append new ops at the end of this section.


@register("random_crop", keys=("crop_padding",))
def _random_crop(image, seed, data_config):
  """CIFAR ResNets (He et al. 2016, sec. 4.2): pad by crop_padding, random same-size crop."""
  return augment.random_crop_with_padding(image, seed, padding=data_config.crop_padding)


@register("random_resized_crop", keys=("crop_scale", "crop_antialias"), raw_input=True,
          check=data_crop_scale)
def _random_resized_crop(image, seed, data_config):
  """Inception's crop (area in crop_scale, aspect 3/4-4/3), resized to image_size."""
  return augment.random_resized_crop(image, seed, size=data_config.image_size,
                                     scale=data_crop_scale(data_config),
                                     antialias=data_config.get("crop_antialias", True))


@register("flip")
def _flip(image, seed, data_config):
  del data_config
  return augment.random_flip_left_right(image, seed)


@register("color_jitter", keys=("color_jitter",))
def _color_jitter(image, seed, data_config):
  s = data_config.color_jitter
  return augment.color_jitter(image, seed, brightness=s, contrast=s, saturation=s,
                              hue=min(s / 4, 0.5))


@register("pca_lighting", keys=("pca_std",))
def _pca_lighting(image, seed, data_config):
  """AlexNet's PCA colour noise (sec. 4.1)."""
  return augment.pca_lighting(image, seed, alphastd=data_config.pca_std)


@register("alexnet_crop", keys=("resize_shorter",), raw_input=True, check=check_alexnet_frame)
def _alexnet_crop(image, seed, data_config):
  """AlexNet training (sec. 4.1): a random image_size (224) patch of the 256x256 image."""
  return random_crop(alexnet_frame(image, data_config), seed, size=data_config.image_size)


def _check_multiscale(data_config):
  size, lo, hi = data_config.image_size, data_config.multiscale_min, data_config.multiscale_max
  if not size <= lo <= hi:
    raise UserError(f"multiscale needs image_size <= multiscale_min <= multiscale_max, got "
                    f"{size}, {lo}, {hi}")


@register("multiscale", keys=("multiscale_min", "multiscale_max"), raw_input=True,
          check=_check_multiscale)
def _multiscale(image, seed, data_config):
  """VGG multi-scale training (sec. 3.1): rescale to a random S, then a random image_size crop."""
  resize_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
  image = multiscale_resize(image, resize_seed, data_config)
  return random_crop(image, crop_seed, size=data_config.image_size)


def _check_cutout(data_config):
  if not 0 < data_config.cutout_size <= data_config.image_size:
    raise UserError(f"data.cutout_size={data_config.cutout_size} must be in "
                    f"1..data.image_size ({data_config.image_size})")


@register("cutout", keys=("cutout_size", "mean"), check=_check_cutout)
def _cutout(image, seed, data_config):
  """DeVries & Taylor 2017; after the crops, so the square lands on what the model sees."""
  return augment.cutout(image, seed, size=data_config.cutout_size,
                        fill=tuple(data_config.mean))


ORDER = tuple(REGISTRY)
RAW_INPUT_OPS = tuple(name for name, op in REGISTRY.items() if op.raw_input)


def check_recipe(data_config):
  """Unknown names, two whole-image ops, or a bad key of a named op: one line each."""
  ops = tuple(data_config.augment)
  unknown = [name for name in ops if name not in REGISTRY]
  if unknown:
    raise UserError(f"unknown data.augment op(s) {', '.join(unknown)}; "
                    f"valid: {', '.join(ORDER)}")
  raw = [name for name in ops if name in RAW_INPUT_OPS]
  if len(raw) > 1:
    raise UserError(f"data.augment has {', '.join(raw)}: each makes the image_size view from "
                    "the whole image, so use at most one of them")
  for name in dict.fromkeys(ops):
    REGISTRY[name].check(data_config)


def apply_recipe(image, seed, data_config, ops):
  """`ops` (names, in order) applied to `image`, each with its own seed derived from `seed`."""
  seeds = tf.random.experimental.stateless_split(seed, num=len(ORDER))
  for name in ops:
    image = REGISTRY[name].apply(image, seeds[ORDER.index(name)], data_config)
  return image
