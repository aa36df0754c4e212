"""Decoding fused with the crop gives the pixels of decoding the whole image and cropping.

The reference is the view applied to the fully decoded image (tf.io.decode_image), the path
every in-memory source takes; the fused path decodes only a window of a JPEG
(decode_and_crop_jpeg). On a real photograph (scikit-learn's sample image), JPEG and PNG.
"""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from jaxvision.config_defaults import base_data_config
from jaxvision.data import decode, views


def photo_bytes(fmt):
  from sklearn.datasets import load_sample_images

  photo = load_sample_images().images[0][40:340, 100:500]  # 300 x 400, 4:3 like ImageNet
  buffer = io.BytesIO()
  Image.fromarray(photo).save(buffer, format=fmt, quality=90)
  return tf.constant(buffer.getvalue())


def data_config():
  data = base_data_config()
  data.image_size, data.augment, data.resize = 224, ("random_resized_crop", "flip"), "center_crop"
  data.mean, data.std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
  return data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("train", [True, False])
def test_fused_decode_and_crop_equals_full_decode_then_view(fmt, train):
  encoded = photo_bytes(fmt)
  view = views.single_view(data_config(), train=train)
  assert hasattr(view, "crop_window")
  whole = {"image": tf.io.decode_image(encoded, channels=3, expand_animations=False),
           "label": tf.constant(0)}
  for s in range(6):
    seed = tf.constant([s, 11], tf.int64)
    fused = decode.prepare({"encoded": encoded, "label": tf.constant(0)}, view, seed, 3)
    assert "cropped" in fused
    if fmt == "JPEG" and train:  # only a part was decoded
      assert int(tf.reduce_prod(tf.shape(fused["image"]))) < int(tf.size(whole["image"]))
    np.testing.assert_allclose(view(fused, seed)["image"].numpy(),
                               view(whole, seed)["image"].numpy(), atol=1e-4)


def test_views_without_a_leading_crop_get_the_whole_image():
  data = data_config()
  data.augment = ("flip", "random_resized_crop")
  view = views.single_view(data, train=True)
  assert not hasattr(view, "crop_window")
  out = decode.prepare({"encoded": photo_bytes("PNG")}, view, tf.constant([0, 0], tf.int64), 3)
  assert tuple(out["image"].shape) == (300, 400, 3) and "cropped" not in out
