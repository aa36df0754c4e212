"""The tf.data view of VGG's multi-scale protocols (jaxvision/evaluate/protocols.py).

One example becomes image [3, Qmax, Qmax, C]: for each test scale Q (protocols.test_scales)
the image with its shorter side at Q, centre-cropped to Q x Q (as dense_view, for the same
reason: one shape per batch), normalised, and placed in the top-left corner of a zero
canvas of the largest scale. The predict fns slice [:Q, :Q] back out with static shapes, so
the padding never reaches a model; dense, multi-scale and multi-crop evaluation all read
this one view, and the crops are cut on the device rather than shipped 150 times over.
Imports TensorFlow: used on the input side only.
"""

from jaxvision.data import augment, views  # first: jaxvision.data imports TensorFlow lightly

import tensorflow as tf  # noqa: E402


def scales_view(data_config, scales):
  views.check_data_config(data_config)
  mean, std = tuple(data_config.mean), tuple(data_config.std)
  q_max = max(scales)

  def view(example, seed):
    del seed  # deterministic
    image = augment.to_float(example["image"])
    canvases = []
    for q in scales:
      x = augment.center_crop(augment.resize_shorter_side(image, size=q), size=q)
      x = augment.normalize(x, mean=mean, std=std)
      canvases.append(tf.pad(x, [[0, q_max - q], [0, q_max - q], [0, 0]]))
    return {"image": tf.stack(canvases), "label": example["label"]}

  return view
