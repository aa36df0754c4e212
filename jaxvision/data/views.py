"""Example -> the view(s) a model sees. Here: one view, for supervised training and eval.

A view function is `fn(example, seed) -> example`, with `seed` a [2] int tensor that the
pipeline derives from (run seed, example position), so augmentation is reproducible on resume.
The training augmentation is data: `data.augment` lists op names applied in order.
"""

import tensorflow as tf

from jaxvision.data import augment
from jaxvision.errors import UserError

TRAIN_OPS = ("random_crop", "random_resized_crop", "flip", "color_jitter", "pca_lighting")


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
  if method == "none":
    return image
  raise UserError(f"unknown data.resize {method!r}; use pad, bilinear, center_crop or none")


def check_augment(ops):
  unknown = [op for op in ops if op not in TRAIN_OPS]
  if unknown:
    raise UserError(f"unknown data.augment op(s) {', '.join(unknown)}; "
                    f"valid: {', '.join(TRAIN_OPS)}")


def single_view(data_config, *, train: bool):
  """One augmented (train) or deterministic (eval) view per example."""
  ops = tuple(data_config.augment) if train else ()
  check_augment(ops)
  mean, std = tuple(data_config.mean), tuple(data_config.std)

  def view(example, seed):
    image = augment.to_float(example["image"])
    if "random_resized_crop" not in ops:
      image = resize_for_model(image, data_config)
    seeds = tf.random.experimental.stateless_split(seed, num=len(TRAIN_OPS))
    for op in ops:
      op_seed = seeds[TRAIN_OPS.index(op)]
      if op == "random_crop":
        image = augment.random_crop_with_padding(image, op_seed,
                                                 padding=data_config.crop_padding)
      elif op == "random_resized_crop":
        image = augment.random_resized_crop(image, op_seed, size=data_config.image_size)
      elif op == "flip":
        image = augment.random_flip_left_right(image, op_seed)
      elif op == "color_jitter":
        s = data_config.color_jitter
        image = augment.color_jitter(image, op_seed, brightness=s, contrast=s,
                                     saturation=s, hue=min(s / 4, 0.5))
      elif op == "pca_lighting":
        image = augment.pca_lighting(image, op_seed)
    image = augment.normalize(image, mean=mean, std=std)
    return {"image": image, "label": example["label"]}

  return view
