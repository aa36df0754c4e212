"""Evaluation preprocessing that imported weights expect, as data, and a numpy-only `preprocess`.

The numbers are the references' own: torchvision's ImageClassification transforms of its
IMAGENET1K_V1 weights (resize shorter side 256, centre crop 224; Inception v3: 342 -> 299)
and timm's pretrained_cfg of seresnet50.a1_in1k (crop_pct 0.95: resize floor(224 / 0.95) =
235, bicubic). Mean/std are the ImageNet RGB statistics on pixels scaled to [0, 1].
GoogLeNet and Inception v3 take the same normalisation; their torchvision weights then
re-map it inside the model (`transform_input=True`, which import-weights records).

`preprocess` follows PIL's Image.resize (the path torchvision and timm take for PIL images):
separable resampling with the filter stretched by the downscale factor (antialiasing),
each of the two passes rounded to uint8, which gives Pillow's exact pixels whenever Pillow
runs the horizontal pass first (see `resize`); torchvision's centre-crop offset rounds half
to even.
"""

import re

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

PRESETS = {
    "torchvision": {"resize": 256, "crop": 224, "interpolation": "bilinear",
                    "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "torchvision_inception": {"resize": 342, "crop": 299, "interpolation": "bilinear",
                              "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "timm_seresnet": {"resize": 235, "crop": 224, "interpolation": "bicubic",
                      "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
}
# Model family (name without depth / _bn) -> preset.
FAMILIES = {"alexnet": "torchvision", "vgg": "torchvision", "googlenet": "torchvision",
            "resnet": "torchvision", "inception_v": "torchvision_inception",
            "se_resnet": "timm_seresnet"}


def preset_for(model_name: str) -> dict:
  """The preset of an importable model; KeyError for models without reference weights."""
  family = re.sub(r"\d+(_bn)?$", "", model_name)  # vgg16_bn -> vgg, inception_v3 -> inception_v
  if family not in FAMILIES:
    raise KeyError(f"no preprocessing preset for {model_name!r}; families: "
                   f"{', '.join(sorted(FAMILIES))}")
  return PRESETS[FAMILIES[family]]


def _bilinear(x):
  x = np.abs(x)
  return np.where(x < 1.0, 1.0 - x, 0.0)


def _bicubic(x, a=-0.5):  # PIL's cubic convolution constant
  x = np.abs(x)
  return np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0,
                  np.where(x < 2.0, (((x - 5.0) * x + 8.0) * x - 4.0) * a, 0.0))


_FILTERS = {"bilinear": (_bilinear, 1.0), "bicubic": (_bicubic, 2.0)}


def _weights(in_size: int, out_size: int, interpolation: str) -> np.ndarray:
  """(out_size, in_size) resampling matrix, PIL's precompute_coeffs."""
  kernel, support = _FILTERS[interpolation]
  scale = in_size / out_size
  filterscale = max(scale, 1.0)  # > 1 when shrinking: wider filter, i.e. antialiasing
  support *= filterscale
  matrix = np.zeros((out_size, in_size))
  for i in range(out_size):
    center = (i + 0.5) * scale
    lo = max(int(center - support + 0.5), 0)
    hi = min(int(center + support + 0.5), in_size)
    w = kernel((np.arange(lo, hi) - center + 0.5) / filterscale)
    matrix[i, lo:hi] = w / w.sum()
  return matrix


# PIL's 8-bit passes use fixed-point weights with 22 fractional bits, rounded half away
# from zero, and round each output half up; doing the same reproduces its pixels exactly.
_PRECISION_BITS = 22


def _pass(x, matrix, subscripts):
  scale = float(1 << _PRECISION_BITS)
  fixed = np.trunc(matrix * scale + np.where(matrix < 0, -0.5, 0.5))
  acc = np.einsum(subscripts, fixed, x) + scale / 2  # exact: integers below 2**53
  return np.clip(np.floor(acc / scale), 0, 255)


def resize(images: np.ndarray, height: int, width: int, interpolation: str = "bilinear"):
  """uint8-valued NHWC resize as PIL's Image.resize: the horizontal pass, then the
  vertical one, each rounded to uint8 -- Pillow's order until recently. Pillow 13 runs the
  vertical pass first in some cases (measured: e.g. 460x158 -> 186x64; its rule is not
  pinned down here), and then pixels differ: by 1-2 grey levels for bilinear on noise
  images, more for bicubic, whose overshoot is clipped in the other order.
  """
  _, h, w, _ = images.shape
  x = images.astype(np.float64)
  if w != width:
    x = _pass(x, _weights(w, width, interpolation), "ow,nhwc->nhoc")
  if h != height:
    x = _pass(x, _weights(h, height, interpolation), "oh,nhwc->nowc")
  return x


def preprocess(images: np.ndarray, preset: dict | str) -> np.ndarray:
  """uint8 NHWC RGB images (one size) -> float32 NHWC model input for `preset`.

  Resize so the shorter side is preset['resize'] (the longer one truncated as torchvision
  does), centre crop preset['crop'], scale to [0, 1], subtract mean, divide by std.
  """
  if isinstance(preset, str):
    preset = PRESETS[preset]
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f"preprocess takes NHWC RGB images, got shape {images.shape}")
  _, h, w, _ = images.shape
  size, crop = preset["resize"], preset["crop"]
  if h <= w:
    new_h, new_w = size, int(size * w / h)
  else:
    new_h, new_w = int(size * h / w), size
  x = resize(images, new_h, new_w, preset.get("interpolation", "bilinear"))
  if new_h < crop or new_w < crop:
    raise ValueError(f"resized to {new_h}x{new_w}, smaller than the {crop} crop")
  top, left = int(round((new_h - crop) / 2.0)), int(round((new_w - crop) / 2.0))
  x = x[:, top:top + crop, left:left + crop] / 255.0
  mean, std = np.asarray(preset["mean"]), np.asarray(preset["std"])
  return ((x - mean) / std).astype(np.float32)

