"""Augmentations against numpy re-implementations, closed forms and determinism per seed."""

import numpy as np
import pytest
import tensorflow as tf

from jaxvision.data import augment as A

RNG = np.random.default_rng(0)
IMG = RNG.uniform(size=(20, 28, 3)).astype(np.float32)  # distinct values: windows match once
GREY = RNG.uniform(size=(20, 28, 1)).astype(np.float32)
LUMA = np.array([0.2989, 0.587, 0.114], np.float32)  # tf.image.rgb_to_grayscale, torchvision


def seed(i):
  return tf.constant([7, i], tf.int64)


RANDOM_FNS = {
    "pad_crop": lambda x, s: A.random_crop_with_padding(x, s, padding=4),
    "resized_crop": lambda x, s: A.random_resized_crop(x, s, size=16),
    "flip": A.random_flip_left_right,
    "jitter": lambda x, s: A.color_jitter(x, s, brightness=0.4, contrast=0.4, saturation=0.4,
                                          hue=0.1, p=0.8),
    "grayscale": lambda x, s: A.random_grayscale(x, s, p=0.5),
    "blur": lambda x, s: A.gaussian_blur(x, s, kernel_size=5, p=0.5),
    "lighting": lambda x, s: A.pca_lighting(x, s, alphastd=0.1),
    "multiscale": lambda x, s: A.random_resize_shorter_side(x, s, min_size=16, max_size=40),
    "cutout": lambda x, s: A.cutout(x, s, size=8, fill=(0.5,)),
}


@pytest.mark.parametrize("name", sorted(RANDOM_FNS))
def test_pure_function_of_seed(name):
  fn = RANDOM_FNS[name]
  outs = [fn(tf.constant(IMG), seed(i)).numpy() for i in range(8)]
  np.testing.assert_array_equal(outs[3], fn(tf.constant(IMG), seed(3)).numpy())
  distinct = {o.tobytes() for o in outs}
  assert len(distinct) >= 2, f"{name} ignores its seed"


def test_random_crop_with_padding_is_a_window_of_the_padded_image():
  padded = np.pad(IMG, [(4, 4), (4, 4), (0, 0)])
  offsets = set()
  for i in range(12):
    out = A.random_crop_with_padding(tf.constant(IMG), seed(i), padding=4).numpy()
    assert out.shape == IMG.shape
    hits = [(y, x) for y in range(9) for x in range(9)
            if np.array_equal(padded[y:y + 20, x:x + 28], out)]
    assert len(hits) == 1
    offsets.add(hits[0])
  assert len(offsets) > 3


def test_random_crop_with_padding_fill_and_uint8():
  img = np.full((6, 6, 1), 200, np.uint8)
  out = A.random_crop_with_padding(tf.constant(img), seed(1), padding=6, fill=9).numpy()
  assert out.dtype == np.uint8 and set(np.unique(out)) <= {9, 200}


def _cutout_box(changed):
  rows, cols = np.nonzero(changed)
  return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def test_cutout_is_a_clipped_square_of_the_fill_value():
  # DeVries & Taylor's code: centre (y, x) uniform over the pixels, rows y - s//2 .. y + s//2
  # clipped to the image. Every mask must be the clip of such a square: inside it every pixel
  # is the fill, outside it every pixel is untouched, and unclipped sides have length s.
  s, fill = 8, (0.25, 0.5, 0.75)
  seen_whole = False
  for i in range(40):
    out = A.cutout(tf.constant(IMG), seed(i), size=s, fill=fill).numpy()
    changed = np.any(out != IMG, axis=-1)
    top, bottom, left, right = _cutout_box(changed)
    assert changed[top:bottom, left:right].all() and changed.sum() == (bottom - top) * (right - left)
    np.testing.assert_array_equal(out[changed], np.broadcast_to(fill, (changed.sum(), 3)))
    np.testing.assert_array_equal(out[~changed], IMG[~changed])
    for lo, hi, n in ((top, bottom, 20), (left, right, 28)):
      assert hi - lo == s or lo == 0 or hi == n  # only the borders shorten the square
      assert hi - lo >= s // 2
    seen_whole |= changed.sum() == s * s
  assert seen_whole


def test_cutout_centres_cover_the_image_uniformly():
  # The square's centre is uniform over all 20 x 28 pixels: the centre of an unclipped box
  # is top + s // 2; over many seeds each row band and column band is hit about equally.
  rows = []
  for i in range(400):
    out = A.cutout(tf.constant(GREY), seed(i), size=2, fill=(0.0,)).numpy()
    top, bottom, _, _ = _cutout_box(np.any(out != GREY, axis=-1))
    rows.append(top + 1 if bottom - top == 2 else (0 if top == 0 else 19))
  counts = np.bincount(np.asarray(rows) // 5, minlength=4)  # four bands of five rows
  assert counts.min() > 60, counts  # 100 expected per band


def test_cutout_rejects_bad_settings():
  with pytest.raises(ValueError, match="positive"):
    A.cutout(tf.constant(GREY), seed(0), size=0, fill=(0.0,))
  with pytest.raises(ValueError, match="fill has 2 values"):
    A.cutout(tf.constant(IMG), seed(0), size=4, fill=(0.0, 1.0))


def test_flip_is_fliplr_or_identity():
  seen = set()
  for i in range(10):
    out = A.random_flip_left_right(tf.constant(IMG), seed(i)).numpy()
    if np.array_equal(out, IMG):
      seen.add("id")
    else:
      np.testing.assert_array_equal(out, np.fliplr(IMG))
      seen.add("flip")
  assert seen == {"id", "flip"}


def test_to_float_and_normalize():
  u8 = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
  np.testing.assert_allclose(A.to_float(tf.constant(u8)).numpy(), u8 / 255.0, atol=1e-7)
  mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
  out = A.normalize(tf.constant(IMG), mean=mean, std=std).numpy()
  np.testing.assert_allclose(out, (IMG - np.array(mean)) / np.array(std), atol=1e-6)


def test_random_resized_crop_shape_and_full_crop_is_plain_resize():
  sq = RNG.uniform(size=(24, 24, 3)).astype(np.float32)
  out = A.random_resized_crop(tf.constant(IMG), seed(0), size=12)
  assert out.shape == (12, 12, 3)
  full = A.random_resized_crop(tf.constant(sq), seed(0), size=10, scale=(1, 1), ratio=(1, 1))
  expect = tf.image.resize(sq, [10, 10], antialias=True).numpy()
  np.testing.assert_allclose(full.numpy(), expect, atol=1e-6)


def test_random_resized_crop_fallback_is_torchvision_centre_crop():
  # A full-area square cannot fit a 40x20 image, so every attempt fails; torchvision then
  # centre-crops with the aspect clamped to 1: rows 10..30.
  tall = RNG.uniform(size=(40, 20, 1)).astype(np.float32)
  out = A.random_resized_crop(tf.constant(tall), seed(3), size=8, scale=(1, 1), ratio=(1, 1))
  expect = tf.image.resize(tall[10:30], [8, 8], antialias=True).numpy()
  np.testing.assert_allclose(out.numpy(), expect, atol=1e-6)


def test_center_crop_matches_numpy():
  out = A.center_crop(tf.constant(IMG), size=(13, 16)).numpy()
  np.testing.assert_array_equal(out, IMG[3:16, 6:22])  # margins 7 -> 3, 12 -> 6


def test_ten_crop_torchvision_order():
  out = A.ten_crop(tf.constant(IMG), size=15).numpy()
  assert out.shape == (10, 15, 15, 3)

  def five(x):
    return [x[:15, :15], x[:15, -15:], x[-15:, :15], x[-15:, -15:], x[2:17, 6:21]]

  for got, want in zip(out, five(IMG) + five(IMG[:, ::-1])):
    np.testing.assert_array_equal(got, want)
  np.testing.assert_array_equal(out[5], np.fliplr(IMG[:15, -15:]))  # mirrored top-right


def test_resize_with_pad_matches_numpy():
  digit = RNG.uniform(size=(28, 28, 1)).astype(np.float32)
  out = A.resize_with_pad(tf.constant(digit), size=32).numpy()
  np.testing.assert_array_equal(out, np.pad(digit, [(2, 2), (2, 2), (0, 0)]))
  out = A.resize_with_pad(tf.constant(IMG), size=31).numpy()
  np.testing.assert_array_equal(out, np.pad(IMG, [(5, 6), (1, 2), (0, 0)]))
  big = A.resize_with_pad(tf.constant(IMG), size=14).numpy()  # shrunk to 10x14, then padded
  assert big.shape == (14, 14, 3)
  assert not big[:2].any() and not big[12:].any() and big[2:12].all()


def test_resize_shorter_side_truncates_like_torchvision():
  img = tf.zeros([300, 400, 3])
  assert A.resize_shorter_side(img, size=256).shape == (256, 341, 3)  # int(341.33)
  assert A.resize_shorter_side(tf.zeros([400, 320, 1]), size=256).shape == (320, 256, 1)
  assert A.resize(img, size=(10, 12)).shape == (10, 12, 3)
  sides = {min(A.random_resize_shorter_side(img, seed(i), min_size=256, max_size=512).shape[:2])
           for i in range(6)}
  assert sides <= set(range(256, 513)) and len(sides) > 1


def test_color_jitter_range_identity_and_brightness_closed_form():
  for i in range(4):
    out = A.color_jitter(tf.constant(IMG), seed(i), brightness=0.8, contrast=0.8,
                         saturation=0.8, hue=0.5).numpy()
    assert out.shape == IMG.shape and out.min() >= 0 and out.max() <= 1
  zero = A.color_jitter(tf.constant(IMG), seed(0), brightness=0, contrast=0, saturation=0,
                        hue=0).numpy()
  np.testing.assert_array_equal(zero, IMG)
  dim = IMG * 0.5  # no clipping, so brightness alone is image * one factor in [0.7, 1.3]
  out = A.color_jitter(tf.constant(dim), seed(2), brightness=0.3, contrast=0, saturation=0,
                       hue=0).numpy()
  ratio = out / dim
  np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)
  assert 0.7 <= ratio.flat[0] <= 1.3
  grey = A.color_jitter(tf.constant(GREY), seed(1), brightness=0.4, contrast=0.4,
                        saturation=0.4, hue=0.1).numpy()
  assert grey.shape == GREY.shape and not np.array_equal(grey, GREY)


def test_contrast_alone_blends_with_mean_luma():
  out = A.color_jitter(tf.constant(IMG), seed(5), brightness=0, contrast=0.5, saturation=0,
                       hue=0).numpy()
  m = (IMG @ LUMA).mean()
  # out = c * x + (1 - c) * m for one c; solve it from one unclipped pixel, check the rest.
  mask = (out > 0) & (out < 1)
  c = ((out - m) / (IMG - m))[mask]
  np.testing.assert_allclose(c, np.median(c), rtol=1e-3)


def test_grayscale_p1_uses_luma_weights():
  out = A.random_grayscale(tf.constant(IMG), seed(0), p=1.0).numpy()
  expect = np.repeat((IMG @ LUMA)[..., None], 3, axis=-1)
  np.testing.assert_allclose(out, expect, atol=1e-6)
  np.testing.assert_array_equal(A.random_grayscale(tf.constant(GREY), seed(0), p=1.0), GREY)


def _np_blur(x, sigma, k):
  r = k // 2
  t = np.arange(-r, r + 1)
  w = np.exp(-t**2 / (2 * sigma**2))
  w /= w.sum()
  p = np.pad(x, [(r, r), (r, r), (0, 0)], mode="reflect")
  rows = sum(w[i] * p[i:i + x.shape[0]] for i in range(k))
  return sum(w[j] * rows[:, j:j + x.shape[1]] for j in range(k))


@pytest.mark.parametrize("img", [IMG, GREY], ids=["rgb", "grey"])
def test_gaussian_blur_matches_numpy(img):
  out = A.gaussian_blur(tf.constant(img), seed(0), kernel_size=5, sigma_range=(1.3, 1.3),
                        p=1.0).numpy()
  np.testing.assert_allclose(out, _np_blur(img, 1.3, 5), atol=1e-5)
  np.testing.assert_array_equal(
      A.gaussian_blur(tf.constant(img), seed(0), kernel_size=5, p=0.0), img)
  with pytest.raises(ValueError):
    A.gaussian_blur(tf.constant(img), seed(0), kernel_size=4)


def test_pca_lighting():
  np.testing.assert_array_equal(A.pca_lighting(tf.constant(IMG), seed(0), alphastd=0), IMG)
  shift = A.pca_lighting(tf.constant(IMG), seed(1), alphastd=0.1).numpy() - IMG
  np.testing.assert_allclose(shift, np.broadcast_to(shift[0, 0], shift.shape), atol=1e-6)
  eigval = np.array([0.2175, 0.0188, 0.0045])
  eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                     [-0.5836, -0.6948, 0.4203]])
  alpha = np.linalg.solve(eigvec, shift[0, 0]) / eigval  # the drawn N(0, 0.1) coefficients
  assert np.all(np.abs(alpha) < 0.6) and np.any(alpha != 0)


def test_everything_inside_dataset_map_with_dynamic_shapes():
  images = [RNG.integers(0, 256, size=hw + (3,), dtype=np.uint8) for hw in [(37, 45), (50, 33)]]
  ds = tf.data.Dataset.from_generator(
      lambda: iter(images),
      output_signature=tf.TensorSpec([None, None, 3], tf.uint8)).enumerate()

  def train(i, img):
    s = tf.stack([tf.constant(1, tf.int64), i])
    s1, s2, s3, s4, s5, s6, s7 = tf.unstack(tf.random.experimental.stateless_split(s, 7))
    x = A.random_crop_with_padding(img, s1, padding=2)
    x = A.random_flip_left_right(A.to_float(x), s2)
    x = A.random_resize_shorter_side(x, s3, min_size=32, max_size=40)
    x = A.random_resized_crop(x, s4, size=24)
    x = A.color_jitter(x, s5, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8)
    x = A.random_grayscale(x, s6, p=0.2)
    x = A.gaussian_blur(x, s7, kernel_size=3)
    x = A.pca_lighting(x, s7, alphastd=0.1)
    return A.normalize(x, mean=(0.5,) * 3, std=(0.25,) * 3)

  def evaluate(i, img):
    x = A.center_crop(A.resize_shorter_side(A.to_float(img), size=32), size=28)
    return A.ten_crop(A.resize_with_pad(x, size=30), size=24), A.resize(x, size=16)

  out = list(ds.map(train).as_numpy_iterator())
  assert [o.shape for o in out] == [(24, 24, 3)] * 2 and all(np.isfinite(o).all() for o in out)
  again = list(ds.map(train, num_parallel_calls=2).as_numpy_iterator())
  np.testing.assert_array_equal(np.stack(again), np.stack(out))  # a resumed run replays it
  crops, small = next(iter(ds.map(evaluate)))
  assert crops.shape == (10, 24, 24, 3) and small.shape == (16, 16, 3)
