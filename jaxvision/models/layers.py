"""Building blocks shared by the convolutional models: norms, PyTorch-exact pooling, SE, BAM.

Pooling follows PyTorch's arithmetic (explicit padding, `ceil_mode`, `count_include_pad`,
adaptive bins) rather than Flax's 'SAME', because torchvision weights are imported into these
models and a one-pixel shift in a pooling window breaks numerical parity.
"""

import functools
import math
from typing import Any, Callable, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxvision.models.conv_gemm import conv_function

NORMS = ("batch", "batch_fast", "layer", "instance", "group", "none")

# torchvision's conv init (kaiming normal, fan_out): the models train from scratch with it.
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def torch_padding(padding: int | Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
  """PyTorch's symmetric `padding=p` or `(ph, pw)` as Flax's explicit ((lo, hi), (lo, hi))."""
  ph, pw = (padding, padding) if isinstance(padding, int) else padding
  return ((ph, ph), (pw, pw))


def _pairs(v: int | Sequence[int]) -> tuple[int, int]:
  return (v, v) if isinstance(v, int) else tuple(v)


def _pool_geometry(size: int, k: int, s: int, p: int, ceil_mode: bool) -> tuple[int, int]:
  """Output length and the extra right padding that PyTorch's `ceil_mode` implies."""
  span = size + 2 * p - k
  out = (-(-span // s) if ceil_mode else span // s) + 1
  # PyTorch drops a last window that would start in the right padding only.
  if ceil_mode and (out - 1) * s >= size + p:
    out -= 1
  return out, max(0, (out - 1) * s + k - (size + 2 * p))


POOL_IMPLS = ("xla", "slices")


def max_pool(x, kernel, stride, padding=0, ceil_mode: bool = False, impl: str = "xla"):
  """torch.nn.MaxPool2d on NHWC: padding is -inf, `ceil_mode` adds a partial last window.

  impl 'xla': `reduce_window`, whose gradient XLA computes with select-and-scatter.
  'slices': the max of the kh*kw strided views and a custom gradient with the same routing
  (each window's gradient to its first maximum in row-major window order, as
  select-and-scatter with `ge`) built from elementwise selects and pads, which XLA fuses;
  overlapping windows' shares are summed in float32. The forward values are identical.
  """
  (kh, kw), (sh, sw), (ph, pw) = _pairs(kernel), _pairs(stride), _pairs(padding)
  _, eh = _pool_geometry(x.shape[1], kh, sh, ph, ceil_mode)
  _, ew = _pool_geometry(x.shape[2], kw, sw, pw, ceil_mode)
  pads = ((ph, ph + eh), (pw, pw + ew))
  if impl == "slices":
    return _max_pool_slices(x, (kh, kw), (sh, sw), pads)
  if impl != "xla":
    raise ValueError(f"unknown pooling impl {impl!r}; valid: {', '.join(POOL_IMPLS)}")
  return nn.max_pool(x, (kh, kw), (sh, sw), padding=pads)


def _pad_spatial(x, value, pads):
  """lax.pad of H and W by (lo, hi) or (lo, hi, interior) pairs."""
  config = ((0, 0, 0), (*pads[0], 0)[:3], (*pads[1], 0)[:3], (0, 0, 0))
  return lax.pad(x, jnp.asarray(value, x.dtype), config)


def _window_views(xp, window, strides, out_hw):
  """The kh*kw strided views of the padded input, one per window offset, row-major."""
  (kh, kw), (sh, sw), (oh, ow) = window, strides, out_hw
  n, c = xp.shape[0], xp.shape[3]
  return [lax.slice(xp, (0, i, j, 0), (n, i + sh * (oh - 1) + 1, j + sw * (ow - 1) + 1, c),
                    (1, sh, sw, 1)) for i in range(kh) for j in range(kw)]


def _pool_out_hw(shape, window, strides, pads):
  return tuple((shape[1 + a] + sum(pads[a]) - window[a]) // strides[a] + 1 for a in (0, 1))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _max_pool_slices(x, window, strides, pads):
  views = _window_views(_pad_spatial(x, -jnp.inf, pads), window, strides,
                        _pool_out_hw(x.shape, window, strides, pads))
  return functools.reduce(jnp.maximum, views)


def _max_pool_slices_fwd(x, window, strides, pads):
  y = _max_pool_slices(x, window, strides, pads)
  return y, (x, y)


def _max_pool_slices_bwd(window, strides, pads, residuals, g):
  x, y = residuals
  xp = _pad_spatial(x, -jnp.inf, pads)
  views = _window_views(xp, window, strides, y.shape[1:3])
  # The first offset (row-major) whose value is the window's maximum takes the gradient.
  first = jnp.full(y.shape, len(views), jnp.int8 if len(views) < 127 else jnp.int32)
  for k in reversed(range(len(views))):
    first = jnp.where(views[k] == y, k, first)
  (sh, sw), (oh, ow) = strides, y.shape[1:3]
  dxp = jnp.zeros(xp.shape, jnp.float32)
  for k in range(len(views)):
    i, j = divmod(k, window[1])
    share = jnp.where(first == k, g, 0).astype(jnp.float32)
    # The transpose of the strided view: interior padding puts it back on the input grid.
    dxp = dxp + _pad_spatial(share, 0.0, ((i, xp.shape[1] - i - sh * (oh - 1) - 1, sh - 1),
                                          (j, xp.shape[2] - j - sw * (ow - 1) - 1, sw - 1)))
  (top, _), (left, _) = pads
  return (dxp[:, top:top + x.shape[1], left:left + x.shape[2]].astype(x.dtype),)


_max_pool_slices.defvjp(_max_pool_slices_fwd, _max_pool_slices_bwd)


def avg_pool(x, kernel, stride, padding=0, ceil_mode: bool = False,
             count_include_pad: bool = True):
  """torch.nn.AvgPool2d on NHWC: explicit padding counts in the divisor when
  `count_include_pad`; the `ceil_mode` overhang never does (as in PyTorch and Caffe)."""
  (kh, kw), (sh, sw), (ph, pw) = _pairs(kernel), _pairs(stride), _pairs(padding)
  _, eh = _pool_geometry(x.shape[1], kh, sh, ph, ceil_mode)
  _, ew = _pool_geometry(x.shape[2], kw, sw, pw, ceil_mode)
  pads = ((0, 0), (ph, ph + eh), (pw, pw + ew), (0, 0))
  window, strides = (1, kh, kw, 1), (1, sh, sw, 1)
  # A Python scalar init value: a traced jnp.zeros makes reduce_window non-differentiable.
  sums = lax.reduce_window(x, 0.0, lax.add, window, strides, pads)
  # The divisor is static and separable: per-axis window counts from the geometry alone.
  def counts(size, k, s, p, e):
    pad = 1.0 if count_include_pad else 0.0
    ones = np.concatenate([np.full(p, pad), np.ones(size), np.full(p, pad), np.zeros(e)])
    return np.array([ones[i:i + k].sum() for i in range(0, len(ones) - k + 1, s)])
  divisor = np.outer(counts(x.shape[1], kh, sh, ph, eh), counts(x.shape[2], kw, sw, pw, ew))
  return sums / jnp.asarray(divisor[None, :, :, None], x.dtype)


def adaptive_avg_pool(x, output_size: int | Sequence[int]):
  """torch.nn.AdaptiveAvgPool2d: bin i spans [floor(i*H/o), ceil((i+1)*H/o))."""
  (oh, ow), (h, w) = _pairs(output_size), x.shape[1:3]
  if h % oh == 0 and w % ow == 0:  # Equal bins: one reshape, exactly PyTorch's result.
    n, c = x.shape[0], x.shape[3]
    return x.reshape(n, oh, h // oh, ow, w // ow, c).mean(axis=(2, 4))
  rows = []
  for i in range(oh):
    h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
    cols = []
    for j in range(ow):
      w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
      cols.append(x[:, h0:h1, w0:w1, :].mean(axis=(1, 2)))
    rows.append(jnp.stack(cols, axis=1))
  return jnp.stack(rows, axis=1)


def flatten_chw(x):
  """Flattens NHWC in PyTorch's (C, H, W) order, so imported Linear weights apply unchanged."""
  return jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)


def group_count(channels: int, groups: int) -> int:
  """Largest divisor of `channels` that is at most `groups` (32 groups of 48 channels -> 24)."""
  return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


class GroupNorm(nn.Module):
  """Per-example normalisation over channel groups and all spatial positions.

  mode 'group': `group_count(C, groups)` groups; 'layer': one group, i.e. over (H, W, C) as in
  Wu & He (2018), not over channels only; 'instance': one group per channel, over (H, W).
  Statistics in float32; `scale` and `bias` are per channel, named as BatchNorm's so a
  checkpoint's layout does not depend on the norm.
  """

  mode: str = "group"
  groups: int = 32
  epsilon: float = 1e-5
  scale_init: Callable = nn.initializers.ones
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    g = {"layer": 1, "instance": c, "group": group_count(c, self.groups)}[self.mode]
    scale = self.param("scale", self.scale_init, (c,), self.param_dtype)
    bias = self.param("bias", nn.initializers.zeros, (c,), self.param_dtype)
    y = x.astype(jnp.float32).reshape(x.shape[:-1] + (g, c // g))
    axes = tuple(range(1, y.ndim - 2)) + (y.ndim - 1,)
    mean = y.mean(axis=axes, keepdims=True)
    var = jnp.square(y - mean).mean(axis=axes, keepdims=True)
    y = ((y - mean) * lax.rsqrt(var + self.epsilon)).reshape(x.shape)
    y = y * scale.astype(jnp.float32) + bias.astype(jnp.float32)
    return y.astype(self.dtype)


class Identity(nn.Module):
  """norm='none': no normalisation and no parameters, for with/without-norm ablations."""

  @nn.compact
  def __call__(self, x):
    return x


def make_norm(kind: str, *, train: bool, name: str, groups: int = 32, epsilon: float = 1e-5,
              momentum: float = 0.9, scale_init: Callable = nn.initializers.ones,
              dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> nn.Module:
  """The norm factory: 'batch' | 'layer' | 'instance' | 'group', all with params scale/bias,
  or 'none' (an identity without parameters; a conv without bias then stays without one).

  BatchNorm keeps running averages in `batch_stats` (Flax momentum = 1 - PyTorch momentum, so
  0.9 is torchvision's 0.1); statistics span the batch and spatial axes -- under jit on a
  globally sharded batch, the global batch. Flax updates the running variance with the
  biased batch variance where PyTorch uses the unbiased one: imported statistics are used
  as they are; only training from scratch differs, negligibly at batch sizes >= 32.
  """
  if kind in ("batch", "batch_fast"):
    # 'batch': two-pass variance (as PyTorch): E[x^2] - E[x]^2 cancels catastrophically, which
    # made the same step on 8 and on 1 device differ by 5e-3 relative in the gradients.
    # 'batch_fast': that one-pass form (Flax's default), one read of the input fewer: a speed
    # option where activations are not far from zero mean, not the default.
    return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=epsilon,
                        scale_init=scale_init, dtype=dtype, param_dtype=param_dtype,
                        use_fast_variance=kind == "batch_fast", name=name)
  if kind in ("layer", "instance", "group"):
    return GroupNorm(kind, groups, epsilon, scale_init, dtype, param_dtype, name=name)
  if kind == "none":
    return Identity(name=name)
  raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


class ConvNormAct(nn.Module):
  """torchvision's BasicConv2d: conv (no bias) -> norm -> ReLU, submodules 'conv' and 'bn'."""

  features: int
  kernel_size: int | Sequence[int]
  strides: int = 1
  padding: int | Sequence[int] = 0  # PyTorch-style symmetric padding.
  norm: str = "batch"
  groups: int = 32
  epsilon: float = 1e-5
  act: bool = True
  kernel_init: Callable = conv_init
  conv_impl: str = "auto"  # see models/conv_gemm.py
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    x = nn.Conv(self.features, _pairs(self.kernel_size), _pairs(self.strides),
                padding=torch_padding(self.padding), use_bias=False,
                kernel_init=self.kernel_init, dtype=self.dtype,
                param_dtype=self.param_dtype,
                conv_general_dilated=conv_function(self.conv_impl), name="conv")(x)
    x = make_norm(self.norm, train=train, name="bn", groups=self.groups,
                  epsilon=self.epsilon, dtype=self.dtype, param_dtype=self.param_dtype)(x)
    return nn.relu(x) if self.act else x


class FlattenDense(nn.Module):
  """A fully connected layer over an NHWC map of size `window`, flattened in (C, H, W) order.

  With `sliding=True` the same kernel is applied as a `window`-sized VALID convolution: the
  dense evaluation of Simonyan & Zisserman (2015, sec. 3.2), where fc6 becomes a conv and a
  larger image yields a map of outputs. The parameters are identical in both modes.
  """

  features: int
  window: tuple[int, int]
  kernel_init: Callable = nn.initializers.normal(0.01)
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  bias_init: Callable = nn.initializers.zeros  # AlexNet 2012 starts its fc6 bias at 1

  @nn.compact
  def __call__(self, x, *, sliding: bool = False):
    n, h, w, c = x.shape
    kh, kw = self.window
    kernel = self.param("kernel", self.kernel_init, (c * kh * kw, self.features),
                        self.param_dtype)
    bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype)
    x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
    if not sliding:
      if (h, w) != (kh, kw):
        raise ValueError(f"FlattenDense expects a {kh}x{kw} map, got {h}x{w}")
      return flatten_chw(x) @ kernel + bias
    if h < kh or w < kw:
      raise ValueError(f"dense evaluation needs a map of at least {kh}x{kw}, got {h}x{w}")
    kernel = jnp.transpose(kernel.reshape(c, kh, kw, self.features), (1, 2, 0, 3))
    y = lax.conv_general_dilated(x, kernel, (1, 1), "VALID",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias


def make_divisible(v: float, divisor: int = 8, min_value: Optional[int] = None) -> int:
  """timm's rounding of SE widths (round_limit 0): nearest multiple of divisor, >= divisor."""
  min_value = min_value or divisor
  return max(min_value, int(v + divisor / 2) // divisor * divisor)


class SqueezeExcite(nn.Module):
  """Squeeze-and-Excitation (Hu et al. 2018): x * sigmoid(fc2(relu(fc1(avgpool(x))))).

  Hidden width = make_divisible(C / reduction, divisor); divisor 8 is timm's `seresnet`
  rule (needed for its checkpoints), divisor 1 gives plain C // reduction for narrow
  CIFAR nets. Names fc1/fc2 as timm's SEModule (there they are 1x1 convs: same params).
  """

  reduction: int = 16
  divisor: int = 8
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    hidden = make_divisible(c / self.reduction, self.divisor)
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    s = jnp.mean(x, axis=(1, 2))
    s = nn.relu(dense(hidden, name="fc1")(s))
    s = nn.sigmoid(dense(c, name="fc2")(s))
    return x * s[:, None, None, :]


class BAM(nn.Module):
  """Bottleneck Attention Module (Park, Woo, Lee, Kweon 2018): F * (1 + sigmoid(Mc + Ms)).

  Mc = BN(MLP(AvgPool(F))), MLP C -> C/r -> C with ReLU; Ms = BN(1x1 conv to one map after
  a 1x1 reduction to C/r and two 3x3 convs of dilation d, ReLU between) -- the paper's
  equations 2-4. The authors' released code differs (BN+ReLU after each hidden layer,
  product instead of sum); we follow the paper. Instance norm of the pooled vector is
  degenerate (one value per channel), so the channel branch uses layer norm then.
  """

  reduction: int = 16
  dilation: int = 4
  norm: str = "batch"
  groups: int = 32
  conv_impl: str = "auto"  # see models/conv_gemm.py (the dilated convs always use XLA's)
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    c = x.shape[-1]
    hidden = max(1, c // self.reduction)
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    norm = functools.partial(make_norm, train=train, groups=self.groups, **kw)
    conv = functools.partial(nn.Conv, conv_general_dilated=conv_function(self.conv_impl), **kw)

    mc = jnp.mean(x, axis=(1, 2))
    mc = nn.relu(nn.Dense(hidden, name="channel_fc0", **kw)(mc))
    mc = nn.Dense(c, name="channel_fc1", **kw)(mc)
    channel_kind = "layer" if self.norm == "instance" else self.norm
    mc = norm(channel_kind, name="channel_bn")(mc)

    d = self.dilation
    ms = nn.relu(conv(hidden, (1, 1), name="spatial_reduce")(x))
    for i in range(2):
      ms = nn.relu(conv(hidden, (3, 3), padding=((d, d), (d, d)), kernel_dilation=(d, d),
                        kernel_init=conv_init, name=f"spatial_dilated{i}")(ms))
    ms = conv(1, (1, 1), name="spatial_final")(ms)
    ms = norm(self.norm, name="spatial_bn")(ms)

    attention = 1.0 + nn.sigmoid(mc[:, None, None, :] + ms)
    return x * attention


def num_params(params) -> int:
  """Total number of entries of a parameter tree (arrays or ShapeDtypeStructs)."""
  return sum(math.prod(p.shape) for p in jax.tree_util.tree_leaves(params))


def local_response_norm(x, *, size: int = 5, k: float = 2.0, alpha: float = 1e-4,
                        beta: float = 0.75):
  """Local response normalisation across channels (Krizhevsky et al. 2012, sec. 3.3):

    b_c = a_c / (k + alpha * sum_{j=max(0, c-size//2)}^{min(C-1, c+size//2)} a_j^2) ** beta

  in the paper's convention: alpha multiplies the plain sum (Caffe and PyTorch divide it by
  `size` first, so their alpha is size times this one), `size` counts the whole window
  (TensorFlow's depth_radius is size // 2). Defaults are AlexNet's k=2, n=5, alpha=1e-4,
  beta=0.75. No parameters; computed in float32, returned in x's dtype.
  """
  if size < 1 or size % 2 == 0:
    raise ValueError(f"LRN window size must be odd and positive, got {size}")
  r = size // 2
  x32 = x.astype(jnp.float32)
  sq = jnp.pad(jnp.square(x32), [(0, 0)] * (x.ndim - 1) + [(r, r)])
  c = x.shape[-1]
  window_sum = functools.reduce(jnp.add, [sq[..., j:j + c] for j in range(size)])
  return (x32 * (k + alpha * window_sum) ** -beta).astype(x.dtype)
