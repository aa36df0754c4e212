"""Typed image augmentations for tf.data pipelines (single HWC images, never batches).

Every random function is stateless: it takes `seed`, an int32/int64 tensor of shape [2], and
its output is a pure function of (image, seed) on a given TF version and device. The pipeline
derives the seed from (run seed, example position), so a resumed run replays augmentation
exactly. Sub-seeds come from `stateless_split`, so no two random draws share a seed.

Images are float32 in [0, 1] unless a docstring says otherwise; the geometric functions
(crops, flips, padding) accept any dtype, so a pipeline may crop uint8 before `to_float`.
The channel count must be statically known (1 or 3); height and width may be dynamic, as
they are after `tf.io.decode_jpeg`. Hyperparameters are keyword-only Python values.

Recipes these reproduce: CIFAR pad-and-crop (He et al. 2016), Inception crops (Szegedy et
al. 2015), VGG multi-scale training (Simonyan & Zisserman 2015), AlexNet PCA lighting
(Krizhevsky et al. 2012), SimCLR colour distortion and blur (Chen et al. 2020).
"""

from collections.abc import Sequence

import tensorflow as tf

# Branching on Python values here is deliberately trace-time, and data-dependent branches are
# explicit tf.cond / tf.switch_case; letting tf.data's AutoGraph rewrite these functions
# only triples the time to trace a pipeline.
_no_autograph = tf.autograph.experimental.do_not_convert

# torchvision ColorJitter's four ops, in the index order used by the random permutation.
_BRIGHTNESS, _CONTRAST, _SATURATION, _HUE = range(4)

# ImageNet RGB statistics (pixels in [0, 1]) from fb.resnet.torch's transforms.lua, the values
# the AlexNet-era lighting noise used; columns of _EIGVEC are the eigenvectors.
_EIGVAL = (0.2175, 0.0188, 0.0045)
_EIGVEC = ((-0.5675, 0.7192, 0.4009),
           (-0.5808, -0.0045, -0.8140),
           (-0.5836, -0.6948, 0.4203))


def _pair(size):
  """An int means a square; a pair is (height, width)."""
  if isinstance(size, int):
    return size, size
  h, w = size
  return int(h), int(w)


def _channels(image) -> int:
  c = image.shape[-1]
  if c is None:
    raise ValueError("augment needs a static channel count; decode with channels=1 or 3 "
                     f"(got shape {image.shape})")
  return c


def _seeds(seed, n):
  return tf.unstack(tf.random.experimental.stateless_split(seed, num=n))


def _with_probability(p, seed, fn, image):
  """fn(image) with probability p, else image; p is resolved at trace time where it can be."""
  if not 0.0 <= p <= 1.0:
    raise ValueError(f"probability must be in [0, 1], got {p}")
  if p == 0.0:
    return image
  if p == 1.0:
    return fn(image)
  coin = tf.random.stateless_uniform([], seed)
  return tf.cond(coin < p, lambda: fn(image), lambda: tf.identity(image))


def _hw(image):
  shape = tf.shape(image)
  return shape[0], shape[1]


# ----------------------------------------------------------------------------- dtype, stats


@_no_autograph
def to_float(image):
  """uint8 [0, 255] -> float32 [0, 1]; a float image passes through as float32."""
  return tf.image.convert_image_dtype(image, tf.float32)


@_no_autograph
def normalize(image, *, mean: Sequence[float], std: Sequence[float]):
  """(image - mean) / std per channel; mean/std have one entry per channel."""
  mean = tf.constant(mean, tf.float32)
  std = tf.constant(std, tf.float32)
  return (tf.cast(image, tf.float32) - mean) / std


# ----------------------------------------------------------------------------- resizing


@_no_autograph
def resize(image, *, size, method: str = "bilinear", antialias: bool = True):
  """Resize to size (int: square, or (height, width)), ignoring the aspect ratio.

  antialias defaults on because the reference recipes resized with PIL, which filters when
  downsampling; TF's unfiltered bilinear aliases badly at ImageNet crop scales.
  """
  h, w = _pair(size)
  out = tf.image.resize(image, [h, w], method=method, antialias=antialias)
  return tf.ensure_shape(out, [h, w, _channels(image)])


def _resize_dynamic(image, new_h, new_w, antialias=True):
  return tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear",
                         antialias=antialias)


def _shorter_side_to(image, size):
  """size may be a tensor. The longer side truncates, as torchvision's Resize(int) does."""
  h, w = _hw(image)
  size = tf.cast(size, tf.int32)
  # Integer arithmetic so that e.g. 256 * 400 / 320 never rounds to 319.
  new_h = tf.where(h <= w, size, (size * h) // w)
  new_w = tf.where(h <= w, (size * w) // h, size)
  out = _resize_dynamic(image, new_h, new_w)
  return tf.ensure_shape(out, [None, None, _channels(image)])


@_no_autograph
def resize_shorter_side(image, *, size: int):
  """Scale so the shorter side is `size`, keeping the aspect ratio (eval resize 256)."""
  return _shorter_side_to(image, size)


@_no_autograph
def random_resize_shorter_side(image, seed, *, min_size: int, max_size: int):
  """VGG multi-scale training: shorter side uniform over the integers [min_size, max_size]."""
  if not 0 < min_size <= max_size:
    raise ValueError(f"need 0 < min_size <= max_size, got {min_size}, {max_size}")
  size = tf.random.stateless_uniform([], seed, minval=min_size, maxval=max_size + 1,
                                     dtype=tf.int32)
  return _shorter_side_to(image, size)


@_no_autograph
def resize_with_pad(image, *, size):
  """Zero-pad, centred, to size x size; never upsamples (LeNet pads 28x28 digits to 32x32).

  An image larger than the target is first shrunk, aspect kept, so its longer side fits.
  Padding places the extra row/column of an odd margin at the bottom/right.
  """
  th, tw = _pair(size)
  h, w = _hw(image)

  def shrink():
    scale = tf.minimum(th / tf.cast(h, tf.float64), tw / tf.cast(w, tf.float64))
    new_h = tf.maximum(1, tf.cast(tf.round(tf.cast(h, tf.float64) * scale), tf.int32))
    new_w = tf.maximum(1, tf.cast(tf.round(tf.cast(w, tf.float64) * scale), tf.int32))
    out = _resize_dynamic(image, new_h, new_w)
    if image.dtype.is_integer:  # keep uint8 pipelines uint8; round, do not truncate
      out = tf.round(out)
    return tf.saturate_cast(out, image.dtype)

  fits = tf.logical_and(h <= th, w <= tw)
  image = tf.cond(fits, lambda: tf.identity(image), shrink)
  h, w = _hw(image)
  out = tf.image.pad_to_bounding_box(image, (th - h) // 2, (tw - w) // 2, th, tw)
  return tf.ensure_shape(out, [th, tw, _channels(image)])


# ----------------------------------------------------------------------------- crops


def _crop(image, top, left, h, w):
  out = tf.slice(image, tf.stack([top, left, 0]), tf.stack([h, w, -1]))
  return tf.ensure_shape(out, [None, None, _channels(image)])  # slice forgets the channels


@_no_autograph
def center_crop(image, *, size):
  """Central size crop (int or (h, w)); odd margins put the extra pixel at the bottom/right.

  torchvision rounds the offset half-to-even instead, so for some odd margins its crop sits
  one pixel lower/further right; the floor is the same rule as tf.image.resize_with_crop_or_pad.
  """
  th, tw = _pair(size)
  h, w = _hw(image)
  tf.debugging.assert_greater_equal(tf.stack([h, w]), tf.constant([th, tw]),
                                    message="center_crop: image smaller than crop size")
  out = _crop(image, (h - th) // 2, (w - tw) // 2, th, tw)
  return tf.ensure_shape(out, [th, tw, _channels(image)])


def _five_crop(image, th, tw):
  h, w = _hw(image)
  corners = [_crop(image, top, left, th, tw)
             for top, left in ((0, 0), (0, w - tw), (h - th, 0), (h - th, w - tw))]
  return corners + [center_crop(image, size=(th, tw))]


@_no_autograph
def ten_crop(image, *, size):
  """[10, h, w, C]: tl, tr, bl, br, center, then the same five of the mirrored image.

  As torchvision's TenCrop, the second five are five_crop(fliplr(image)), so crop 5 is the
  mirror of the original top-right corner, crop 6 of the top-left, and so on.
  """
  th, tw = _pair(size)
  crops = _five_crop(image, th, tw) + _five_crop(tf.image.flip_left_right(image), th, tw)
  return tf.ensure_shape(tf.stack(crops), [10, th, tw, _channels(image)])


@_no_autograph
def random_crop_with_padding(image, seed, *, padding: int, fill=0):
  """Pad `padding` pixels on each side with `fill`, then crop back to the original size.

  The CIFAR recipe of He et al. (2016): padding=4 on 32x32. Any dtype.
  """
  c = _channels(image)
  padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]],
                  constant_values=tf.cast(fill, image.dtype))
  out = tf.image.stateless_random_crop(padded, tf.shape(image), seed)
  return tf.ensure_shape(out, image.shape[:2].concatenate([c]))


@_no_autograph
def random_resized_crop(image, seed, *, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                        antialias: bool = True):
  """Inception crop: area fraction in `scale`, aspect w/h in `ratio`, resized to size x size."""
  top, left, crop_h, crop_w = rrc_window(tf.shape(image), seed, scale=scale, ratio=ratio)
  return resize(_crop(image, top, left, crop_h, crop_w), size=size, antialias=antialias)


@_no_autograph
def rrc_window(shape, seed, *, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
  """(top, left, height, width) of the Inception crop of an image of `shape` [H, W, C].

  A function of the shape alone, so a JPEG can decode just this window (decode.py).
  TF's box sampler (10 attempts) returns the whole image when no attempt fits; that case is
  replaced by torchvision's fallback, a centre crop with the aspect clamped into `ratio`.
  The whole image is only ever a valid sample when its aspect already lies in `ratio`, where
  the fallback is the whole image too, so testing "box == image" is safe.
  min_object_covered=0 so that `scale` alone bounds the area (the box is the full image).
  """
  shape = tf.cast(shape, tf.int32)
  h, w = shape[0], shape[1]
  begin, box, _ = tf.image.stateless_sample_distorted_bounding_box(
      shape, bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
      min_object_covered=0.0, aspect_ratio_range=ratio, area_range=scale, max_attempts=10,
      use_image_if_no_bounding_boxes=True)
  fell_back = tf.logical_and(tf.equal(box[0], h), tf.equal(box[1], w))

  hf, wf = tf.cast(h, tf.float64), tf.cast(w, tf.float64)
  in_ratio = wf / hf
  lo, hi = float(min(ratio)), float(max(ratio))
  fb_h = tf.where(in_ratio < lo, tf.cast(tf.round(wf / lo), tf.int32), h)
  fb_w = tf.where(in_ratio > hi, tf.cast(tf.round(hf * hi), tf.int32), w)
  crop_h = tf.where(fell_back, fb_h, box[0])
  crop_w = tf.where(fell_back, fb_w, box[1])
  top = tf.where(fell_back, (h - fb_h) // 2, begin[0])
  left = tf.where(fell_back, (w - fb_w) // 2, begin[1])
  return top, left, crop_h, crop_w


@_no_autograph
def random_flip_left_right(image, seed):
  """Mirror with probability 1/2. Any dtype."""
  return tf.image.stateless_random_flip_left_right(image, seed)


@_no_autograph
def cutout(image, seed, *, size: int, fill: Sequence[float]):
  """Cutout (DeVries & Taylor 2017): a size x size square set to `fill`, centred anywhere.

  The centre is uniform over the pixels and the square is clipped at the borders, as in the
  paper's code (rows centre - size // 2 to centre - size // 2 + size). `fill` is one value
  per channel (or one for all): the normalisation mean, so the square is zero after
  `normalize`, as the paper's zeros were. Any dtype.
  """
  h, w = _hw(image)
  c = _channels(image)
  if size <= 0:
    raise ValueError(f"cutout size must be positive, got {size}")
  if len(fill) not in (1, c):
    raise ValueError(f"cutout fill has {len(fill)} values for {c} channel(s)")
  row_seed, col_seed = _seeds(seed, 2)
  top = tf.random.stateless_uniform([], row_seed, minval=0, maxval=h, dtype=tf.int32) - size // 2
  left = tf.random.stateless_uniform([], col_seed, minval=0, maxval=w, dtype=tf.int32) - size // 2
  rows = tf.range(h)[:, None]
  cols = tf.range(w)[None, :]
  inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
  values = tf.cast(tf.reshape(tf.constant(fill, tf.float32), [1, 1, -1]), image.dtype)
  return tf.where(inside[:, :, None], tf.broadcast_to(values, tf.shape(image)), image)


# ----------------------------------------------------------------------------- colour


def _gray(image):
  """Luma with the weights torchvision and TF share: 0.2989 R + 0.587 G + 0.114 B."""
  return tf.image.rgb_to_grayscale(image) if _channels(image) == 3 else image


def _blend(image, other, factor):
  # torchvision's _blend: clamp after every op, so the next op sees a valid image.
  return tf.clip_by_value(factor * image + (1.0 - factor) * other, 0.0, 1.0)


def _factor(seed, strength):
  """torchvision's range for a strength s: uniform in [max(0, 1 - s), 1 + s]."""
  return tf.random.stateless_uniform([], seed, minval=max(0.0, 1.0 - strength),
                                     maxval=1.0 + strength)


@_no_autograph
def color_jitter(image, seed, *, brightness: float, contrast: float, saturation: float,
                 hue: float, p: float = 1.0):
  """torchvision ColorJitter in a random order, applied with probability p (SimCLR: 0.8).

  brightness: image * b, b ~ U[1-s, 1+s]. contrast: blend with the mean luma.
  saturation: blend with the luma image. hue: shift by h ~ U[-s, s] of the hue circle
  (s <= 0.5). A strength of 0 skips its op, so all-zero is the exact identity.
  Grey (1-channel) images get only brightness and contrast. Output clipped to [0, 1].
  """
  if not 0.0 <= hue <= 0.5:
    raise ValueError(f"hue strength must be in [0, 0.5], got {hue}")
  if min(brightness, contrast, saturation) < 0:
    raise ValueError("jitter strengths must be >= 0")
  image = tf.cast(image, tf.float32)
  rgb = _channels(image) == 3
  gate_seed, order_seed, b_seed, c_seed, s_seed, h_seed = _seeds(seed, 6)
  ops = [lambda x: x] * 4
  if brightness:
    b = _factor(b_seed, brightness)
    ops[_BRIGHTNESS] = lambda x: _blend(x, tf.zeros_like(x), b)
  if contrast:
    c = _factor(c_seed, contrast)
    ops[_CONTRAST] = lambda x: _blend(x, tf.reduce_mean(_gray(x)), c)
  if saturation and rgb:
    s = _factor(s_seed, saturation)
    ops[_SATURATION] = lambda x: _blend(x, _gray(x), s)
  if hue and rgb:
    delta = tf.random.stateless_uniform([], h_seed, minval=-hue, maxval=hue)
    ops[_HUE] = lambda x: tf.clip_by_value(tf.image.adjust_hue(x, delta), 0.0, 1.0)

  def jitter(x):
    # A stateless uniform permutation of the four ops, like torch.randperm(4).
    order = tf.argsort(tf.random.stateless_uniform([4], order_seed))
    for i in range(4):
      x = tf.switch_case(order[i], [lambda op=op: op(x) for op in ops])
    return tf.clip_by_value(x, 0.0, 1.0)

  return _with_probability(p, gate_seed, jitter, image)


@_no_autograph
def random_grayscale(image, seed, *, p: float):
  """With probability p replace RGB by its luma repeated 3 times; grey images are unchanged."""
  if _channels(image) == 1:
    return image
  return _with_probability(p, seed, lambda x: tf.tile(_gray(x), [1, 1, 3]), image)


@_no_autograph
def gaussian_blur(image, seed, *, kernel_size: int, sigma_range=(0.1, 2.0), p: float = 0.5):
  """SimCLR blur: sigma ~ U(sigma_range), odd square kernel, applied with probability p.

  SimCLR uses kernel_size ~ 10% of the image side. Borders are reflected, as torchvision's
  GaussianBlur does, rather than zero-padded (SimCLR's TF code), which darkens the edges.
  """
  if kernel_size < 1 or kernel_size % 2 == 0:
    raise ValueError(f"kernel_size must be odd and positive, got {kernel_size} "
                     "(SimCLR's 10% of 224 is 22: use 23)")
  image = tf.cast(image, tf.float32)
  gate_seed, sigma_seed = _seeds(seed, 2)
  c = _channels(image)
  r = kernel_size // 2

  def blur(x):
    sigma = tf.random.stateless_uniform([], sigma_seed, minval=sigma_range[0],
                                        maxval=sigma_range[1])
    t = tf.range(-r, r + 1, dtype=tf.float32)
    k = tf.exp(-(t * t) / (2.0 * sigma * sigma))
    k = k / tf.reduce_sum(k)
    kv = tf.tile(tf.reshape(k, [kernel_size, 1, 1, 1]), [1, 1, c, 1])
    kh = tf.reshape(kv, [1, kernel_size, c, 1])
    x = tf.pad(x[None], [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    x = tf.nn.depthwise_conv2d(x, kv, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, kh, [1, 1, 1, 1], "VALID")
    return x[0]

  return _with_probability(p, gate_seed, blur, image)


@_no_autograph
def pca_lighting(image, seed, *, alphastd: float = 0.1):
  """AlexNet lighting noise: add eigvec @ (alpha * eigval), alpha ~ N(0, alphastd), per image.

  Uses fb.resnet.torch's ImageNet eigen-decomposition for [0, 1] RGB. Not clipped, as in
  fb.resnet.torch, so values may leave [0, 1] by a few hundredths. RGB only.
  """
  if _channels(image) != 3:
    raise ValueError(f"pca_lighting needs RGB images, got shape {image.shape}")
  if alphastd == 0:
    return tf.cast(image, tf.float32)
  alpha = tf.random.stateless_normal([3], seed, stddev=alphastd)
  shift = tf.linalg.matvec(tf.constant(_EIGVEC), alpha * tf.constant(_EIGVAL))
  return tf.cast(image, tf.float32) + shift
