"""Encoded image -> uint8 pixels, on the host that uses the example, fused with its crop.

A view that starts by cutting a window out of the full image (random-resized-crop in
training, the centre crop in evaluation) exposes `view.crop_window(shape, seed) ->
(top, left, height, width)`. For a JPEG the window is computed from the header alone
(`extract_jpeg_shape`) and only the window is decoded (`decode_and_crop_jpeg`), as flax's
ImageNet example does; PNG, GIF and BMP are decoded whole and then cut to the same window.
The example then carries 'cropped' (and 'full_shape', 'window') so the view skips its own
cut; the evaluation window has a margin so that its centre view is the full image's, pixel
for pixel (views.center_from_window). Any other view gets the
whole decoded image.

A file that fails to decode raises inside tf.data; the pipeline turns that into one line
naming the file (`find_bad_example`).
"""

import tensorflow as tf

from jaxvision.errors import UserError


def decode_full(encoded, channels: int):
  image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
  return tf.ensure_shape(image, [None, None, channels])


def decode_window(encoded, channels: int, window_fn):
  """(the window `window_fn(shape [3] int32)` of the image, the full shape, the window
  [top, left, height, width]), decoding only the window for a JPEG."""

  def jpeg():
    shape = tf.image.extract_jpeg_shape(encoded)
    window = tf.stack(window_fn(shape))
    image = tf.image.decode_and_crop_jpeg(encoded, window, channels=channels)
    return image, shape, window

  def other():
    image = decode_full(encoded, channels)
    shape = tf.shape(image)
    top, left, height, width = window_fn(shape)
    return image[top:top + height, left:left + width], shape, tf.stack([top, left, height,
                                                                       width])

  image, shape, window = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
  return tf.ensure_shape(image, [None, None, channels]), shape, window


def prepare(example: dict, view, seed, channels: int) -> dict:
  """The example with 'encoded' replaced by 'image' (and 'cropped' when the view's window
  was cut while decoding); a decoded example passes through."""
  if "encoded" not in example:
    return example
  example = dict(example)
  encoded = example.pop("encoded")
  window = getattr(view, "crop_window", None)
  if window is None:
    example["image"] = decode_full(encoded, channels)
  else:
    example["image"], example["full_shape"], example["window"] = decode_window(
        encoded, channels, lambda shape: window(shape, seed))
    example["cropped"] = tf.constant(True)
  return example


def find_bad_example(reader, indices) -> str | None:
  """The name of the first of `indices` whose image does not read or decode, else None."""
  for index in indices:
    try:
      example = reader.read(tf.constant(int(index), tf.int64))
      if "encoded" in example:
        decode_full(example["encoded"], reader.channels)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError):
      return reader.name(int(index))
  return None


def bad_image_error(name: str) -> UserError:
  return UserError(f"{name} is not a readable image (missing, truncated or not an image "
                   "file); remove it or set data.bad_images=skip, which replaces it by the "
                   "next readable example")
