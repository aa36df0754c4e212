"""The papers' test-time protocols: one centre view, ten crops, dense (fully convolutional).

A protocol is a pair: `eval_view(data_config, mode)`, the tf.data view fed to
`pipeline.eval_batches`, and `make_predict_fn(model, mode)`, a `predict_fn(variables,
images) -> (N, K)` for `classification.make_eval_step`. Both are needed: the view decides the
shape of `images`, the predict fn how its views are combined.

  center    one data.image_size view (data.resize), as in training-time evaluation. Returns
            logits.
  ten_crop  AlexNet (Krizhevsky et al. 2012, sec. 4.1) / torchvision TenCrop: the four corner
            and the centre crops of size data.image_size and their mirror images, from the
            image resized to shorter side data.eval_resize (AlexNet's 256x256 image with
            data.resize='alexnet'); images are [N, 10, S, S, C]. The softmax probabilities
            of the ten crops are averaged, as AlexNet and VGG did.
  dense     VGG (Simonyan & Zisserman 2015, sec. 3.2): the fully connected layers as
            convolutions (the model rebuilt with dense_eval=True, same parameters) over the
            image at shorter side Q = data.eval_resize, centre-cropped to Q x Q so a batch
            shares one shape; the class-score map is averaged over positions. With
            flip=True (data.dense_flip, VGG's choice) the softmax probabilities of the image
            and its mirror image are averaged.
  multi_scale  VGG sec. 3.2/4.2 (Table 4): dense evaluation (as `dense`, with the same flip
            setting) at three test scales Q, softmax averaged over them. Q in {S-32, S, S+32}
            for a net trained at one scale S, {S_min, (S_min+S_max)/2, S_max} for one trained
            with scale jittering ({256, 384, 512} for S in [256, 512]); see test_scales.
  multi_crop  VGG sec. 3.2/4.3 (Table 5): at each of the three Q, a regular 5x5 grid of
            data.image_size crops and their mirror images, 150 crops in all, through the
            model as trained (no dense conversion); softmax averaged over the 150.
  dense+multi_crop  VGG Table 5's combination: the mean of the two protocols' averaged
            softmax outputs.
  The three multi-scale modes read one view (evaluate/scale_views.py): images [N, 3, Qmax,
  Qmax, C], scale i in the top-left Q_i x Q_i corner. Their predict fn needs the data config
  (the scales and the crop size): make_predict_fn(..., data_config=config.data). They run
  up to 150 forward passes per image: set eval_batch_size small (16 at 224).

What comes back: for center, and dense without flip, the model's logits. Where
probabilities are averaged, log(mean p): a log-softmax of it is log(mean p) again, so the
cross-entropy that `eval_sums` reports is the averaged prediction's negative log-likelihood
and top-k ranks the averaged probabilities.

Networks ending in global average pooling and one linear layer (GoogLeNet, Inception,
ResNets, NiN) have no dense_eval setting and need none: averaging the linear layer's outputs
over positions equals applying it to the averaged features, so run on a larger image they
already are the dense evaluation.
"""

import math
from typing import Callable, Union

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision.errors import UserError

MODES = ("center", "ten_crop", "dense", "multi_scale", "multi_crop", "dense+multi_crop")
SCALE_MODES = ("multi_scale", "multi_crop", "dense+multi_crop")
GRID = 5  # multi-crop: a GRID x GRID regular grid of crops per scale (VGG: 5x5)
PredictFn = Callable[[dict, jax.Array], jax.Array]


def check_protocol(data_config, mode: str) -> None:
  """A clear error for an unknown mode or crops larger than the image they are cut from."""
  if mode not in MODES:
    raise UserError(f"unknown evaluation mode {mode!r}; use {', '.join(MODES)}")
  size = data_config.image_size
  if mode == "ten_crop":
    side, key = ((data_config.resize_shorter, "resize_shorter")
                 if data_config.resize == "alexnet" else (data_config.eval_resize, "eval_resize"))
    if side < size:
      raise UserError(f"ten_crop cuts {size}x{size} crops from an image of shorter side "
                      f"data.{key}={side}; raise it to at least {size} (256 for 224)")
  if mode in SCALE_MODES and min(test_scales(data_config)) < size:
    fix = (f"data.multiscale_min to at least {size}" if _jittered(data_config) else
           f"the training scale S (data.eval_resize, or data.multiscale_min = max when "
           f"'multiscale' is in data.augment) to at least {size + 32}")
    raise UserError(f"{mode} evaluates at Q = {test_scales(data_config)}, below the training "
                    f"crop data.image_size={size}; raise {fix}")
  if mode == "dense" and data_config.eval_resize < size:
    raise UserError(f"dense evaluation at data.eval_resize={data_config.eval_resize} is below "
                    f"the training crop data.image_size={size}; use Q >= {size}")


def test_scales(data_config) -> tuple[int, int, int]:
  """VGG's three test scales Q (sec. 4.2) from how the net was trained.

  Scale jittering ('multiscale' in data.augment with multiscale_min < multiscale_max):
  S_min, the middle, S_max. One training scale S (multiscale over [S, S], or else S =
  data.eval_resize, the single-scale test size that equals S in VGG's Table 3): S-32, S,
  S+32.
  """
  lo, hi = data_config.multiscale_min, data_config.multiscale_max
  if _jittered(data_config):
    return (lo, (lo + hi) // 2, hi)
  s = lo if "multiscale" in tuple(data_config.augment) else data_config.eval_resize
  return (s - 32, s, s + 32)


def _jittered(data_config) -> bool:
  return ("multiscale" in tuple(data_config.augment)
          and data_config.multiscale_min < data_config.multiscale_max)


def crop_offsets(q: int, size: int, grid: int = GRID) -> list[int]:
  """The grid's crop positions along one axis of a Q-sided image: evenly spaced from the
  first to the last position, rounded to pixels (0, 8, 16, 24, 32 for Q=256, size 224)."""
  return [round(i * (q - size) / (grid - 1)) for i in range(grid)]


def eval_view(data_config, mode: str):
  """The tf view fn `(example, seed) -> {'image', 'label'}` of `mode`, for eval_batches."""
  check_protocol(data_config, mode)
  # Imported here so the predict fns below can be used on hosts without TensorFlow.
  from jaxvision.data import views

  if mode == "center":
    return views.single_view(data_config, train=False)
  if mode == "ten_crop":
    return views.ten_crop_view(data_config)
  if mode in SCALE_MODES:
    from jaxvision.evaluate.scale_views import scales_view
    return scales_view(data_config, test_scales(data_config))
  return views.dense_view(data_config)


def log_mean_softmax(logits, axis: int):
  """log(mean over `axis` of softmax(logits)), in float32, without leaving log space."""
  log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return jax.nn.logsumexp(log_p, axis=axis) - math.log(logits.shape[axis])


def dense_model(model_or_builder: Union[nn.Module, Callable[..., nn.Module]]) -> nn.Module:
  """The model with its fully connected layers as convolutions (same parameter tree)."""
  if isinstance(model_or_builder, nn.Module):
    names = {f.name for f in model_or_builder.__dataclass_fields__.values()}
    if "dense_eval" in names:
      return model_or_builder.clone(dense_eval=True)
    return model_or_builder  # global average pooling: already fully convolutional
  try:
    return model_or_builder(dense_eval=True)
  except TypeError:  # a builder of a model without the setting (see the module docstring)
    return model_or_builder()


def _as_model(model_or_builder) -> nn.Module:
  return model_or_builder if isinstance(model_or_builder, nn.Module) else model_or_builder()


def make_predict_fn(model_or_builder: Union[nn.Module, Callable[..., nn.Module]], mode: str, *,
                    flip: bool = True, data_config=None) -> PredictFn:
  """predict_fn(variables, images) -> (N, K) for make_eval_step; `flip` is used by dense only.

  model_or_builder: the trained model (a flax Module, e.g. Experiment.model) or a callable
  building it from keyword overrides (e.g. functools.partial(models.get_model, name, ...)).
  The variables are the trained model's ({'params', 'batch_stats'?}) in every mode.
  """
  if mode not in MODES:
    raise UserError(f"unknown evaluation mode {mode!r}; use {', '.join(MODES)}")
  if mode in SCALE_MODES:
    if data_config is None:
      raise UserError(f"--mode {mode} needs the data config (its test scales and crop size)")
    return _scales_predict_fn(model_or_builder, mode, flip, test_scales(data_config),
                              data_config.image_size)
  if mode == "center":
    model = _as_model(model_or_builder)
    return lambda variables, images: model.apply(variables, images, train=False)

  if mode == "ten_crop":
    model = _as_model(model_or_builder)

    def predict_crops(variables, images):
      if images.ndim != 5:
        raise ValueError(f"ten_crop expects images [N, crops, H, W, C], got {images.shape}; "
                         "use eval_view(data_config, 'ten_crop')")
      n, crops = images.shape[:2]
      logits = model.apply(variables, images.reshape((n * crops,) + images.shape[2:]),
                           train=False)
      return log_mean_softmax(logits.reshape(n, crops, -1), axis=1)

    return predict_crops

  model = dense_model(model_or_builder)

  def predict_dense(variables, images):
    if not flip:
      return model.apply(variables, images, train=False)
    n = images.shape[0]
    both = jnp.concatenate([images, jnp.flip(images, axis=2)], axis=0)  # one pass, 2N images
    logits = model.apply(variables, both, train=False)
    return log_mean_softmax(jnp.stack([logits[:n], logits[n:]], axis=1), axis=1)

  return predict_dense


def _check_scales_input(images, scales):
  if images.ndim != 5 or images.shape[1] != len(scales) or images.shape[2] < max(scales):
    raise ValueError(f"expected images [N, {len(scales)}, >={max(scales)}, ..., C] from "
                     f"eval_view(data_config, <multi-scale mode>), got {images.shape}")


def _scales_predict_fn(model_or_builder, mode, flip, scales, size) -> PredictFn:
  """The predict fn of the three multi-scale modes: log of the averaged probabilities."""
  dense, crop_model = dense_model(model_or_builder), _as_model(model_or_builder)

  def dense_log_probs(variables, images):  # (N, scales * views, K)
    outs = []
    for i, q in enumerate(scales):
      x = images[:, i, :q, :q]
      x = jnp.concatenate([x, jnp.flip(x, axis=2)]) if flip else x
      logits = dense.apply(variables, x, train=False)
      outs.extend(jnp.split(logits, 2) if flip else [logits])
    return jnp.stack(outs, axis=1)

  def crop_log_probs(variables, images):  # (N, scales * 2 * GRID^2, K)
    n, outs = images.shape[0], []
    for i, q in enumerate(scales):
      offsets = crop_offsets(q, size)
      crops = jnp.stack([images[:, i, r:r + size, c:c + size]
                         for r in offsets for c in offsets], axis=1)       # (N, 25, s, s, C)
      crops = jnp.concatenate([crops, jnp.flip(crops, axis=3)], axis=1)   # + mirror images
      logits = crop_model.apply(variables, crops.reshape((-1,) + crops.shape[2:]),
                                train=False)
      outs.append(logits.reshape(n, crops.shape[1], -1))
    return jnp.concatenate(outs, axis=1)

  def predict(variables, images):
    _check_scales_input(images, scales)
    if mode == "multi_scale":
      return log_mean_softmax(dense_log_probs(variables, images), axis=1)
    crops = log_mean_softmax(crop_log_probs(variables, images), axis=1)
    if mode == "multi_crop":
      return crops
    both = jnp.stack([log_mean_softmax(dense_log_probs(variables, images), axis=1), crops], 1)
    return jax.nn.logsumexp(both, axis=1) - math.log(2.0)  # log of the two means' mean

  return predict
