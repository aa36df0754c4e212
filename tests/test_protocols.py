"""The papers' protocols: AlexNet/VGG training crops, ten-crop and dense evaluation.

Expectations come from numpy slicing of tf.image.resize outputs, a numpy sliding-window
re-implementation of the convolutionalised classifier, and symmetry (mirror invariance).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

from jaxvision import models
from jaxvision.config_defaults import base_data_config
from jaxvision.data import pipeline, sources, train_ops, views
from jaxvision.errors import UserError
from jaxvision.evaluate import protocols
from jaxvision.evaluate.classification import evaluate, make_eval_step
from jaxvision.parallel import make_mesh

RNG = np.random.default_rng(0)
IMG = RNG.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)  # distinct windows


def seed(i):
  return tf.constant([11, i], tf.int64)


def data_config(**kw):
  d = base_data_config()
  d.mean, d.std = (0.0,), (1.0,)  # views then return [0, 1] pixels: easy to compare
  for k, v in kw.items():
    d[k] = v
  return d


def tf_resize(image, h, w):
  """Reference resize: what PIL-like antialiased bilinear gives at an explicit (h, w)."""
  x = tf.constant(image.astype(np.float32) / 255.0)
  return tf.image.resize(x, [h, w], method="bilinear", antialias=True).numpy()


def example(image=IMG, label=3):
  return {"image": tf.constant(image), "label": tf.constant(label, tf.int32)}


def windows(big, size):
  return [big[y:y + size, x:x + size] for y in range(big.shape[0] - size + 1)
          for x in range(big.shape[1] - size + 1)]


def is_window(crop, big):
  return any(np.allclose(crop, w, atol=1e-6) for w in windows(big, crop.shape[0]))


def torchvision_ten_crop(frame, s):
  h, w = frame.shape[:2]

  def five(x):
    return [x[:s, :s], x[:s, w - s:], x[h - s:, :s], x[h - s:, w - s:],
            x[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]]

  return np.stack(five(frame) + five(frame[:, ::-1]))


# ----------------------------------------------------------------------------- training ops


def test_multiscale_resize_shorter_side_within_bounds_and_aspect_kept():
  d = data_config(image_size=16, multiscale_min=18, multiscale_max=26)
  sizes = set()
  for i in range(40):
    out = train_ops.multiscale_resize(tf.constant(IMG), seed(i), d).numpy()
    s = min(out.shape[:2])
    assert 18 <= s <= 26
    assert out.shape[:2] == (s, 40 * s // 30)  # shorter side is the height here
    sizes.add(s)
  assert len(sizes) >= 5, sizes


def test_multiscale_crop_is_a_window_of_a_rescaled_image():
  d = data_config(image_size=16, multiscale_min=18, multiscale_max=22, augment=("multiscale",))
  view = views.single_view(d, train=True)
  rescaled = {s: tf_resize(IMG, s, 40 * s // 30) for s in range(18, 23)}
  for i in range(4):
    crop = view(example(), seed(i))["image"].numpy()
    assert crop.shape == (16, 16, 3)
    assert any(is_window(crop, big) for big in rescaled.values())


def test_alexnet_crop_is_a_window_of_the_centre_square():
  d = data_config(image_size=12, resize_shorter=16, augment=("alexnet_crop",))
  frame = tf_resize(IMG, 16, 21)[:, 2:18]  # 40 * 16 // 30 = 21 columns; centre 16 of them
  view = views.single_view(d, train=True)
  crops = [view(example(), seed(i))["image"].numpy() for i in range(6)]
  for crop in crops:
    assert crop.shape == (12, 12, 3) and is_window(crop, frame)
  assert len({c.tobytes() for c in crops}) > 1


def test_alexnet_resize_is_imagenet_centre_crop_at_224_of_256():
  big = RNG.integers(0, 256, size=(300, 400, 3), dtype=np.uint8)
  alex = views.resize_for_model(tf.constant(big, tf.float32) / 255,
                                data_config(image_size=224, resize="alexnet"))
  centre = views.resize_for_model(tf.constant(big, tf.float32) / 255,
                                  data_config(image_size=224, resize="center_crop"))
  np.testing.assert_allclose(alex.numpy(), centre.numpy(), atol=1e-6)


@pytest.mark.parametrize("ops", [("multiscale", "flip", "pca_lighting"),
                                 ("alexnet_crop", "flip", "pca_lighting")])
def test_paper_recipes_same_seed_same_view(ops):
  d = data_config(image_size=16, multiscale_min=18, multiscale_max=30, resize_shorter=20,
                  augment=ops)
  view = views.single_view(d, train=True)
  outs = [view(example(), seed(i))["image"].numpy() for i in range(5)]
  np.testing.assert_array_equal(outs[2], view(example(), seed(2))["image"].numpy())
  assert all(o.shape == (16, 16, 3) for o in outs)
  assert len({o.tobytes() for o in outs}) == 5


def test_existing_ops_keep_their_seeds():
  """Appending ops to TRAIN_OPS must not change the augmentation of existing configs."""
  d = data_config(image_size=30, resize="none", augment=("random_crop",), crop_padding=4)
  out = views.single_view(d, train=True)(example(IMG[:, :30]), seed(5))["image"].numpy()
  op_seed = tf.random.experimental.stateless_split(seed(5), num=5)[0]  # the old 5-op split
  padded = tf.pad(tf.constant(IMG[:, :30], tf.float32) / 255, [[4, 4], [4, 4], [0, 0]])
  expected = tf.image.stateless_random_crop(padded, [30, 30, 3], op_seed).numpy()
  np.testing.assert_allclose(out, expected, atol=1e-6)


def test_cutout_view_is_zero_after_normalisation_in_one_square():
  # data.mean is the fill, so the square is exactly 0 after normalising; the rest is the
  # plain normalised image (no other op): DeVries & Taylor's zeros on normalised inputs.
  d = data_config(image_size=30, resize="none", augment=("cutout",), cutout_size=6,
                  mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0))
  out = views.single_view(d, train=True)(example(IMG[:, :30]), seed(2))["image"].numpy()
  plain = (IMG[:, :30].astype(np.float32) / 255 - np.float32([0.1, 0.2, 0.3])) / np.float32(
      [0.5, 0.25, 2.0])
  changed = np.any(np.abs(out - plain) > 1e-5, axis=-1)
  assert 9 <= changed.sum() <= 36
  np.testing.assert_allclose(out[changed], 0.0, atol=1e-6)
  np.testing.assert_allclose(out[~changed], plain[~changed], atol=1e-5)


@pytest.mark.parametrize("kw, message", [
    (dict(augment=("multiscale", "random_resized_crop")), "at most one"),
    (dict(augment=("multiscale",), image_size=224, multiscale_min=200), "multiscale_min"),
    (dict(augment=("alexnet_crop",), image_size=224, resize_shorter=200), "resize_shorter"),
    (dict(resize="alexnet", image_size=224, resize_shorter=128), "resize_shorter"),
    (dict(resize="squash"), "data.resize"),
    (dict(augment=("cutout",), image_size=16, resize="bilinear", cutout_size=17), "cutout_size=17"),
])
def test_config_mistakes_are_one_line_errors(kw, message):
  with pytest.raises(UserError, match=message):
    views.single_view(data_config(**kw), train=True)


# ----------------------------------------------------------------------------- eval views


@pytest.mark.parametrize("resize, frame", [
    ("bilinear", lambda: tf_resize(IMG, 20, 26)),               # whole image, shorter side 20
    ("alexnet", lambda: tf_resize(IMG, 20, 26)[:, 3:23]),       # AlexNet's centre square
])
def test_ten_crop_view_matches_numpy_crops(resize, frame):
  d = data_config(image_size=16, eval_resize=20, resize_shorter=20, resize=resize,
                  mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0))
  out = protocols.eval_view(d, "ten_crop")(example(), seed(0))
  expected = (torchvision_ten_crop(frame(), 16) - np.float32([0.1, 0.2, 0.3])) / np.float32(
      [0.5, 0.25, 2.0])
  assert out["image"].shape == (10, 16, 16, 3) and int(out["label"]) == 3
  np.testing.assert_allclose(out["image"].numpy(), expected, atol=1e-5)


def test_dense_view_is_the_centre_square_at_q():
  d = data_config(image_size=16, eval_resize=24)
  out = protocols.eval_view(d, "dense")(example(), seed(0))["image"].numpy()
  np.testing.assert_allclose(out, tf_resize(IMG, 24, 32)[:, 4:28], atol=1e-6)


def test_center_view_is_the_single_view():
  d = data_config(image_size=16, resize="bilinear")
  out = protocols.eval_view(d, "center")(example(), seed(0))["image"].numpy()
  np.testing.assert_allclose(out, tf_resize(IMG, 16, 16), atol=1e-6)


@pytest.mark.parametrize("mode, kw, message", [
    ("twelve_crop", {}, "unknown evaluation mode"),
    ("ten_crop", dict(image_size=224, eval_resize=200), "eval_resize"),
    ("ten_crop", dict(image_size=224, resize="alexnet", resize_shorter=200), "resize_shorter"),
    ("dense", dict(image_size=224, eval_resize=192), "eval_resize"),
])
def test_protocol_mistakes_are_one_line_errors(mode, kw, message):
  with pytest.raises(UserError, match=message):
    protocols.eval_view(data_config(**kw), mode)


# ----------------------------------------------------------------------------- predict fns


def init(name, shape, num_classes=7):
  model = models.get_model(name, num_classes=num_classes)
  return model, model.init(jax.random.key(0), jnp.zeros((1,) + shape))


def images(shape, n=2, salt=0):
  return jnp.asarray(np.random.default_rng(salt).normal(size=(n,) + shape), jnp.float32)


def np_softmax(z):
  z = np.asarray(z, np.float64)
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_ten_crop_predict_is_log_of_mean_softmax():
  model, variables = init("alexnet_tiny", (64, 64, 3))
  crops = images((10, 64, 64, 3))
  got = protocols.make_predict_fn(model, "ten_crop")(variables, crops)
  apply = jax.jit(model.apply)  # the reference runs the model crop stack by crop stack
  per_image = [np_softmax(apply(variables, crops[i])).mean(0) for i in range(2)]
  assert got.shape == (2, 7)
  np.testing.assert_allclose(np.exp(got), np.stack(per_image), atol=1e-6)


@pytest.mark.parametrize("name", ["alexnet_tiny", "vgg_tiny"])
def test_dense_at_224_equals_the_fc_model(name):
  model, variables = init(name, (224, 224, 3))
  x = images((224, 224, 3))
  fc = model.apply(variables, x)
  dense = protocols.make_predict_fn(model, "dense", flip=False)(variables, x)
  np.testing.assert_allclose(dense, fc, atol=1e-5, rtol=1e-5)


def _np_max_pool_3x3_s2(x):
  h, w = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
  return np.stack([np.stack([x[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(1, 2))
                             for j in range(w)], 1) for i in range(h)], 1)


def test_dense_on_a_larger_image_averages_the_sliding_fc_score_map():
  model, variables = init("alexnet_tiny", (224, 224, 3))
  x = images((288, 320, 3), salt=1)
  got = protocols.make_predict_fn(model, "dense", flip=False)(variables, x)
  # conv5 output, then a numpy re-implementation of pool5 + fc6/fc7/fc8 at every 6x6 window.
  _, inter = model.apply(variables, x, capture_intermediates=True, mutable=["intermediates"])
  conv5 = np.maximum(np.asarray(inter["intermediates"]["features_10"]["__call__"][0]), 0)
  pool5 = _np_max_pool_3x3_s2(conv5.astype(np.float64))
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), variables["params"])
  rows, cols = pool5.shape[1] - 5, pool5.shape[2] - 5
  assert (rows, cols) == (3, 4)  # 288x320 input -> 8x9 pool5 map -> 3x4 class-score map
  scores = np.zeros((2, rows, cols, 7))
  for i in range(rows):
    for j in range(cols):
      window = pool5[:, i:i + 6, j:j + 6].transpose(0, 3, 1, 2).reshape(2, -1)  # (C, H, W)
      h = np.maximum(window @ p["classifier_1"]["kernel"] + p["classifier_1"]["bias"], 0)
      h = np.maximum(h @ p["classifier_4"]["kernel"] + p["classifier_4"]["bias"], 0)
      scores[:, i, j] = h @ p["classifier_6"]["kernel"] + p["classifier_6"]["bias"]
  assert got.shape == (2, 7)
  np.testing.assert_allclose(got, scores.mean(axis=(1, 2)), atol=1e-5, rtol=1e-4)


def test_dense_with_flip_is_mirror_invariant_and_a_distribution():
  model, variables = init("vgg_tiny", (224, 224, 3))
  x = images((256, 256, 3), salt=2)
  predict = protocols.make_predict_fn(model, "dense", flip=True)
  got = predict(variables, x)
  np.testing.assert_allclose(got, predict(variables, x[:, :, ::-1]), atol=1e-5)
  np.testing.assert_allclose(np.exp(got).sum(-1), 1.0, atol=1e-5)
  plain = protocols.make_predict_fn(model, "dense", flip=False)(variables, x)
  assert not np.allclose(np.exp(got), np_softmax(plain), atol=1e-7)


def test_dense_model_rebuilds_only_models_with_fc_layers():
  alex = models.get_model("alexnet_tiny")
  assert protocols.dense_model(alex).dense_eval and not alex.dense_eval
  resnet = models.get_model("resnet20")
  assert protocols.dense_model(resnet) is resnet  # global average pooling: already dense
  builder = functools.partial(models.get_model, "vgg_tiny", num_classes=7)
  assert protocols.dense_model(builder).dense_eval
  assert protocols.dense_model(functools.partial(models.get_model, "resnet20")).num_classes == 10


def test_ten_crop_end_to_end_through_eval_batches_and_the_eval_step():
  """[B, 10, S, S, C] batches with padding masked, on the 8-device mesh, against numpy."""
  source = sources.load_digits_source()
  d = data_config(image_size=32, eval_resize=36, resize="bilinear", mean=(0.5,), std=(0.5,))
  view = protocols.eval_view(d, "ten_crop")
  batches = pipeline.eval_batches(source, view, split="test", local_batch=16, max_examples=40)
  model, variables = init("lenet5_relu", (32, 32, 1), num_classes=10)
  step = make_eval_step(protocols.make_predict_fn(model, "ten_crop"), make_mesh())
  metrics = evaluate(step, variables, batches, make_mesh())
  nll, correct, apply = [], [], jax.jit(model.apply)
  for ex in source.dataset("test").take(40):
    probs = np_softmax(apply(variables, view(ex, seed(0))["image"].numpy())).mean(0)
    nll.append(-np.log(probs[int(ex["label"])]))
    correct.append(np.argmax(probs) == int(ex["label"]))
  assert metrics["num_examples"] == 40
  np.testing.assert_allclose(metrics["loss"], np.mean(nll), rtol=1e-5)
  np.testing.assert_allclose(metrics["accuracy"], np.mean(correct))


def test_the_op_registry_keeps_its_order_and_reads_only_real_keys():
  # Each op's seed is its index in ORDER: these eight (the recipes' ops when the registry was
  # made) must stay where they are, and every key an op declares is a data.* default, so
  # lock() catches a typo in it.
  assert train_ops.ORDER[:8] == ("random_crop", "random_resized_crop", "flip", "color_jitter",
                                 "pca_lighting", "alexnet_crop", "multiscale", "cutout")
  defaults = base_data_config()
  for name, op in train_ops.REGISTRY.items():
    missing = [key for key in op.keys if key not in defaults]
    assert not missing, (name, missing)
  assert set(train_ops.RAW_INPUT_OPS) == {"random_resized_crop", "alexnet_crop", "multiscale"}
