"""VGG's multi-scale test protocols (issue #25): multi_scale, multi_crop, dense+multi_crop.

The model under test is built so its outputs have a closed form: the logits are the mean of
the LEFT half of the image, per channel. Mirroring then swaps in the right half, so the
expected averaged prediction is a numpy sum over explicitly sliced image regions, and a
missing or doubled flip, a shifted crop or leaked canvas padding changes it.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

from jaxvision.config_defaults import base_data_config
from jaxvision.data import views
from jaxvision.errors import UserError
from jaxvision.evaluate import protocols


class LeftHalfMean(nn.Module):
  """logits[n, c] = mean of x[n, :, :W//2, c]; no parameters, no dense_eval setting.
  With `classes`, the first channel's mean times a fixed ramp: (N, classes) logits."""

  classes: int = 0

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    m = jnp.mean(x[:, :, :x.shape[2] // 2, :], axis=(1, 2))
    return m[:, :1] * jnp.linspace(-3, 3, self.classes) if self.classes else m


def left_logits(region, classes=0):
  m = region[:, :, :region.shape[2] // 2].mean(axis=(1, 2))
  return m[:, :1] * np.linspace(-3, 3, classes) if classes else m


def data_config(**kw):
  d = base_data_config()
  d.mean, d.std = (0.0,), (1.0,)
  for k, v in kw.items():
    d[k] = v
  return d


def softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


SIZE, SCALES = 8, (8, 40, 72)  # image_size 8, single training scale S = eval_resize = 40


def canvas(n=2, seed=0):
  """[N, 3, 72, 72, 3]: scale i in its top-left Q_i square; the padding is huge, so any of it
  reaching the model would move the result far from the expectation."""
  rng = np.random.default_rng(seed)
  images = np.full((n, 3, 72, 72, 3), 1e3, np.float32)
  for i, q in enumerate(SCALES):
    images[:, i, :q, :q] = rng.normal(size=(n, q, q, 3))
  return images


def expected_dense(images, classes=0):
  probs = []
  for i, q in enumerate(SCALES):
    x = images[:, i, :q, :q]
    probs.append(softmax(left_logits(x, classes)))                 # the image
    probs.append(softmax(left_logits(x[:, :, ::-1], classes)))     # its mirror image
  return np.mean(probs, axis=0)


def expected_crops(images, classes=0):
  probs = []
  for i, q in enumerate(SCALES):
    grid = np.linspace(0, q - SIZE, 5).round().astype(int)  # VGG: a regular 5x5 grid
    for r in grid:
      for c in grid:
        crop = images[:, i, r:r + SIZE, c:c + SIZE]
        probs.append(softmax(left_logits(crop, classes)))
        probs.append(softmax(left_logits(crop[:, :, ::-1], classes)))
  assert len(probs) == 150
  return np.mean(probs, axis=0)


def predict(mode, images):
  cfg = data_config(image_size=SIZE, eval_resize=40)
  fn = protocols.make_predict_fn(LeftHalfMean(), mode, flip=True, data_config=cfg)
  return np.exp(np.asarray(jax.jit(fn)({}, jnp.asarray(images))))


def test_multi_scale_averages_dense_predictions_over_scales_and_flips():
  images = canvas()
  np.testing.assert_allclose(predict("multi_scale", images), expected_dense(images),
                             rtol=1e-5)


def test_multi_crop_averages_150_crops():
  images = canvas(seed=1)
  np.testing.assert_allclose(predict("multi_crop", images), expected_crops(images), rtol=1e-5)


def test_dense_plus_multi_crop_averages_the_two_protocols():
  images = canvas(seed=2)
  want = 0.5 * (expected_dense(images) + expected_crops(images))
  np.testing.assert_allclose(predict("dense+multi_crop", images), want, rtol=1e-5)


def test_test_scales_follow_the_paper():
  jittered = data_config(augment=("multiscale", "flip"), multiscale_min=256,
                         multiscale_max=512)
  assert protocols.test_scales(jittered) == (256, 384, 512)        # Table 4, S in [256, 512]
  fixed = data_config(augment=("multiscale", "flip"), multiscale_min=384, multiscale_max=384)
  assert protocols.test_scales(fixed) == (352, 384, 416)           # S - 32, S, S + 32
  assert protocols.test_scales(data_config(eval_resize=256)) == (224, 256, 288)
  assert protocols.crop_offsets(256, 224) == [0, 8, 16, 24, 32]


def test_errors_name_the_fix():
  with pytest.raises(UserError, match="eval_resize"):
    protocols.check_protocol(data_config(image_size=224, eval_resize=240), "multi_crop")
  with pytest.raises(UserError, match="multiscale_min to at least 224"):
    protocols.check_protocol(data_config(image_size=224, augment=("multiscale",),
                                         multiscale_min=200, multiscale_max=512), "multi_scale")
  with pytest.raises(UserError, match="data config"):
    protocols.make_predict_fn(LeftHalfMean(), "multi_scale")
  protocols.check_protocol(data_config(image_size=224, eval_resize=256), "multi_scale")


def test_scales_view_places_each_dense_view_in_the_canvas():
  image = np.random.default_rng(3).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
  example = {"image": tf.constant(image), "label": tf.constant(4, tf.int32)}
  cfg = data_config(image_size=SIZE, eval_resize=40)
  out = protocols.eval_view(cfg, "multi_crop")(example, tf.zeros([2], tf.int64))
  got = out["image"].numpy()
  assert got.shape == (3, 72, 72, 3) and int(out["label"]) == 4
  for i, q in enumerate(SCALES):
    # The existing dense view at Q (tested in test_protocols.py) is the reference.
    want = views.dense_view(data_config(image_size=SIZE, eval_resize=q))(
        example, tf.zeros([2], tf.int64))["image"].numpy()
    np.testing.assert_allclose(got[i, :q, :q], want, atol=1e-6)
    assert not got[i, q:].any() and not got[i, :, q:].any()


def test_end_to_end_through_eval_batches_and_the_eval_step():
  """Digits through the canvas view, eval_batches (padding masked) and the sharded eval step
  on the 8-device mesh, against the closed form on the same views."""
  from jaxvision.data import pipeline, sources
  from jaxvision.evaluate.classification import evaluate, make_eval_step
  from jaxvision.parallel import make_mesh

  source = sources.load_digits_source()
  cfg = data_config(image_size=SIZE, eval_resize=40, resize="bilinear")
  view = protocols.eval_view(cfg, "dense+multi_crop")
  batches = pipeline.eval_batches(source, view, split="test", local_batch=8, max_examples=12)
  fn = protocols.make_predict_fn(LeftHalfMean(classes=10), "dense+multi_crop", data_config=cfg)
  metrics = evaluate(make_eval_step(fn, make_mesh()), {}, batches, make_mesh())
  nll, correct = [], []
  for ex in source.dataset("test").take(12):
    images = view(ex, tf.zeros([2], tf.int64))["image"].numpy()[None]
    p = 0.5 * (expected_dense(images, 10) + expected_crops(images, 10))[0]
    nll.append(-np.log(p[int(ex["label"])]))
    correct.append(np.argmax(p) == int(ex["label"]))
  assert metrics["num_examples"] == 12
  np.testing.assert_allclose(metrics["loss"], np.mean(nll), rtol=1e-5)
  np.testing.assert_allclose(metrics["accuracy"], np.mean(correct))
