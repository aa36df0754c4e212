"""Example -> the view(s) a model sees. Here: one view, for supervised training and eval.

A view function is `fn(example, seed) -> example`, with `seed` a [2] int tensor that the
pipeline derives from (run seed, example position), so augmentation is reproducible on resume.
The training augmentation is data: `data.augment` lists op names applied in order, each
registered with its function and config keys in jaxvision/data/train_ops.py.

The papers' training recipes, as `data.augment`:
  AlexNet (Krizhevsky et al. 2012, sec. 4.1): ("alexnet_crop", "flip", "pca_lighting")
  VGG (Simonyan & Zisserman 2015, sec. 3.1): ("multiscale", "flip", "pca_lighting")
  GoogLeNet / Inception: ("random_resized_crop", "flip")
  CIFAR ResNets (He et al. 2016, sec. 4.2): ("random_crop", "flip")
  Cutout (DeVries & Taylor 2017): ("random_crop", "flip", "cutout"), data.cutout_size 16 on
    CIFAR-10's 32x32 (half the side)
Evaluation views other than the single centre view live in jaxvision/evaluate/protocols.py.
"""

import tensorflow as tf

from jaxvision.data import augment, train_ops
from jaxvision.data.train_ops import alexnet_frame, checked_crop_scale, data_crop_scale
from jaxvision.errors import UserError

RESIZE_METHODS = ("pad", "bilinear", "center_crop", "alexnet", "none")


def resize_for_model(image, data_config):
  """Brings a float image to data.image_size the way data.resize says."""
  size = data_config.image_size
  method = data_config.resize
  if method == "pad":  # LeNet: 28x28 zero-padded to 32x32, as the paper did for MNIST.
    return augment.resize_with_pad(image, size=size)
  if method == "bilinear":
    return augment.resize(image, size=size, method="bilinear")
  if method == "center_crop":  # ImageNet eval: shorter side to size/0.875, then centre crop.
    image = augment.resize_shorter_side(image, size=int(round(size / 0.875)))
    return augment.center_crop(image, size=size)
  if method == "alexnet":  # the centre crop of AlexNet's 256x256 image (its single view)
    return augment.center_crop(alexnet_frame(image, data_config), size=size)
  if method == "none":
    return image
  raise UserError(f"unknown data.resize {method!r}; use {', '.join(RESIZE_METHODS)}")


def check_data_config(data_config):
  """Every data.* mistake this module can see, before tf.data traces anything."""
  train_ops.check_recipe(data_config)
  data_crop_scale(data_config)
  if data_config.resize not in RESIZE_METHODS:
    raise UserError(f"unknown data.resize {data_config.resize!r}; "
                    f"use {', '.join(RESIZE_METHODS)}")
  if data_config.resize == "alexnet":
    train_ops.check_alexnet_frame(data_config)


def single_view(data_config, *, train: bool):
  """One augmented (train) or deterministic (eval) view per example."""
  check_data_config(data_config)
  ops = tuple(data_config.augment) if train else ()
  mean, std = tuple(data_config.mean), tuple(data_config.std)

  def rrc_box(shape, seed):
    seeds = tf.random.experimental.stateless_split(seed, num=len(train_ops.ORDER))
    return augment.rrc_window(shape, seeds[train_ops.ORDER.index("random_resized_crop")],
                              scale=data_crop_scale(data_config))

  def view(example, seed):
    image = augment.to_float(example["image"])
    # 'cropped': decode.py already cut this view's first window (JPEG: decoding only it).
    cropped = "cropped" in example
    if cropped and ops:  # the Inception box, cut out of its window, resized
      top, left, h, w = rrc_box(example["full_shape"], seed)
      image = image[top - example["window"][0]:top - example["window"][0] + h,
                    left - example["window"][1]:left - example["window"][1] + w]
      image = augment.resize(image, size=data_config.image_size,
                             antialias=data_config.get("crop_antialias", True))
    elif cropped:
      image = center_from_window(image, example["full_shape"], example["window"],
                                 data_config.image_size)
    elif not any(op in train_ops.RAW_INPUT_OPS for op in ops):
      image = resize_for_model(image, data_config)
    image = train_ops.apply_recipe(image, seed, data_config, ops[1:] if cropped else ops)
    image = augment.normalize(image, mean=mean, std=std)
    return {"image": image, "label": example["label"]}

  # A batch at a time (pipeline._read_and_view) when nothing is random (the seed is read by
  # the ops only) and every op vectorises: tf.vectorized_map has no converter for the resize
  # kernel and would run it example by example in a while_loop.
  view.batchable = not ops and data_config.resize in ("pad", "none")
  if ops[:1] == ("random_resized_crop",):
    view.crop_window = lambda shape, seed: with_margin(shape, rrc_box(shape, seed))
  elif not ops and data_config.resize == "center_crop":
    view.crop_window = lambda shape, seed: center_window(shape, data_config.image_size)
  return view


# Pixels decoded around a window: a JPEG decoded in part differs from the whole decode near
# the cut (chroma upsampling across 8-16 pixel blocks); with this margin it does not.
JPEG_MARGIN = 16


def with_margin(shape, window):
  top, left, height, width = window
  h, w = tf.cast(shape[0], tf.int32), tf.cast(shape[1], tf.int32)
  first_y, first_x = tf.maximum(top - JPEG_MARGIN, 0), tf.maximum(left - JPEG_MARGIN, 0)
  last_y = tf.minimum(top + height + JPEG_MARGIN, h)
  last_x = tf.minimum(left + width + JPEG_MARGIN, w)
  return first_y, first_x, last_y - first_y, last_x - first_x


def _center_geometry(shape, size: int):
  """resize_for_model's 'center_crop' on an image of `shape`: the resized size (shorter side
  size / 0.875, longer side truncated, as augment.resize_shorter_side), its scale (float32,
  as tf.image.resize) and the crop's offset in it."""
  h, w = tf.cast(shape[0], tf.int32), tf.cast(shape[1], tf.int32)
  side = int(round(size / 0.875))
  new_h = tf.where(h <= w, side, (side * h) // w)
  new_w = tf.where(h <= w, (side * w) // h, side)
  scale = tf.cast(tf.stack([new_h, new_w]), tf.float32) / tf.cast(tf.stack([h, w]), tf.float32)
  return scale, tf.stack([(new_h - size) // 2, (new_w - size) // 2])


def center_window(shape, size: int):
  """The part of the image that the centre crop's pixels are filtered from, plus a margin
  (the filter's reach and a JPEG block), so cutting it first changes no output pixel."""
  scale, offset = _center_geometry(shape, size)
  reach = tf.cast(tf.math.ceil(2.0 / scale), tf.int32)  # the filter's support, in pixels
  first = tf.cast(tf.floor(tf.cast(offset, tf.float32) / scale), tf.int32) - reach
  last = tf.cast(tf.math.ceil(tf.cast(offset + size, tf.float32) / scale), tf.int32) + reach
  return with_margin(shape, (first[0], first[1], last[0] - first[0], last[1] - first[1]))


def center_from_window(image, full_shape, window, size: int):
  """The centre view of the full image, computed from its window: the same antialiased
  bilinear filter (tf.image.resize's ScaleAndTranslate) shifted by the window's offset."""
  scale, offset = _center_geometry(full_shape, size)
  translation = tf.cast(window[:2], tf.float32) * scale - tf.cast(offset, tf.float32)
  out = tf.raw_ops.ScaleAndTranslate(images=image[None], size=[size, size], scale=scale,
                                     translation=translation, kernel_type="triangle",
                                     antialias=True)[0]
  return tf.ensure_shape(out, [size, size, image.shape[-1]])


# ----------------------------------------------------------------------------- eval views
# Multi-view evaluation (jaxvision/evaluate/protocols.py pairs each with its predict fn).


def ten_crop_frame(image, data_config):
  """The image the ten crops are cut from.

  data.resize='alexnet': AlexNet's own 256x256 image (sec. 4.1: "the four corner patches and
  the center patch" of it). Otherwise the whole image with its shorter side at
  data.eval_resize, as torchvision's Resize(256) + TenCrop(224).
  """
  if data_config.resize == "alexnet":
    return alexnet_frame(image, data_config)
  return augment.resize_shorter_side(image, size=data_config.eval_resize)


def ten_crop_view(data_config):
  """image [10, S, S, C]: torchvision's TenCrop order (tl, tr, bl, br, centre, then mirrored)."""
  check_data_config(data_config)
  mean, std = tuple(data_config.mean), tuple(data_config.std)

  def view(example, seed):
    del seed  # deterministic
    image = ten_crop_frame(augment.to_float(example["image"]), data_config)
    crops = augment.ten_crop(image, size=data_config.image_size)
    return {"image": augment.normalize(crops, mean=mean, std=std), "label": example["label"]}

  return view


def dense_view(data_config):
  """image [Q, Q, C]: shorter side to Q = data.eval_resize, then the central Q x Q square.

  VGG (sec. 3.2) ran the convolutionalised net on the whole rescaled image. A batch needs one
  shape, and zero padding would add class scores computed on padding to the average, so the
  longer side is centre-cropped to Q instead: the margins of the longer side are not seen
  (on ImageNet's typical 4:3 images, a quarter of the width).
  """
  check_data_config(data_config)
  mean, std = tuple(data_config.mean), tuple(data_config.std)
  q = data_config.eval_resize

  def view(example, seed):
    del seed
    image = augment.resize_shorter_side(augment.to_float(example["image"]), size=q)
    image = augment.center_crop(image, size=q)
    return {"image": augment.normalize(image, mean=mean, std=std), "label": example["label"]}

  return view


# ----------------------------------------------------------------------------- SimCLR views
BLUR_CHOICES = ("auto", "on", "off")
# SimCLR blurred ImageNet (224 px) but not CIFAR-10 (32 px): "auto" blurs from this size up.
AUTO_BLUR_MIN_SIZE = 64


def simclr_augment(image, seed, *, size: int, crop_scale=(0.08, 1.0), strength: float = 1.0,
                   blur: bool = False):
  """One SimCLR view (Chen et al. 2020, appendix A) of a float [0, 1] image, any size.

  Random resized crop to size x size (area in crop_scale, aspect 3/4-4/3), flip, colour
  jitter with probability 0.8 (brightness, contrast, saturation 0.8 s, hue 0.2 s for
  strength s), grayscale with probability 0.2, and, if `blur`, a Gaussian blur with
  probability 0.5, sigma in [0.1, 2] and a kernel of about 10% of the side (odd).
  Single-channel images skip saturation, hue and grayscale (they are grey already).
  """
  crop_seed, flip_seed, jitter_seed, gray_seed, blur_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, num=5))
  image = augment.random_resized_crop(image, crop_seed, size=size, scale=tuple(crop_scale))
  image = augment.random_flip_left_right(image, flip_seed)
  s = float(strength)
  image = augment.color_jitter(image, jitter_seed, brightness=0.8 * s, contrast=0.8 * s,
                               saturation=0.8 * s, hue=min(0.2 * s, 0.5), p=0.8)
  image = augment.random_grayscale(image, gray_seed, p=0.2)
  if blur:
    kernel = int(size * 0.1) // 2 * 2 + 1  # 224 -> 23, as SimCLR's 10% rounded to odd
    image = augment.gaussian_blur(image, blur_seed, kernel_size=kernel, p=0.5)
  return image


def two_view(data_config, *, crop_scale=(0.08, 1.0), strength: float = 1.0,
             blur: str = "auto"):
  """{'view1', 'view2'}: two independent SimCLR augmentations of one example, normalised.

  The label is dropped: self-supervised pre-training must not see it. data.augment and
  data.resize are not used here (the crop makes the image_size view from the whole image).
  """
  if blur not in BLUR_CHOICES:
    raise UserError(f"simclr.blur={blur!r}; use one of {', '.join(BLUR_CHOICES)}")
  lo, hi = checked_crop_scale(crop_scale, "simclr.crop_scale")
  if strength < 0:
    raise UserError(f"simclr.color_strength must be >= 0, got {strength}")
  size = data_config.image_size
  use_blur = blur == "on" or (blur == "auto" and size >= AUTO_BLUR_MIN_SIZE)
  mean, std = tuple(data_config.mean), tuple(data_config.std)

  def view(example, seed):
    image = augment.to_float(example["image"])
    seed1, seed2 = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    out = {}
    for key, s in (("view1", seed1), ("view2", seed2)):
      v = simclr_augment(image, s, size=size, crop_scale=(lo, hi), strength=strength,
                         blur=use_blur)
      out[key] = augment.normalize(v, mean=mean, std=std)
    return out

  return view
