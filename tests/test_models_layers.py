"""layers.py against independent numpy computations: norms, PyTorch pooling, SE, BAM, option A.

Expected values are written from the definitions (PyTorch's documented pooling arithmetic,
the norm formulas, the SE/BAM equations), never by calling the layer twice.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.models import layers
from jaxvision.models.resnet import BasicBlock


def key(seed):
  """'rbg' keys: threefry's per-shape kernels take seconds each to compile on a small CPU."""
  return jax.random.key(seed, impl="rbg")

EPS = 1e-5


def _random(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _with_affine(variables, c, seed=1):
  """Replaces the norm's scale/bias with random values so the affine part is exercised."""
  rng = np.random.default_rng(seed)
  params = {"scale": rng.uniform(0.5, 1.5, c).astype(np.float32),
            "bias": rng.normal(size=c).astype(np.float32)}
  return {**variables, "params": params}


# ---------------------------------------------------------------- norms


def test_batch_norm_train_output_running_update_and_eval():
  x = _random((6, 3, 4, 5)) * 2.0 + 3.0
  norm = layers.make_norm("batch", train=True, name="bn", momentum=0.9, epsilon=EPS)
  variables = _with_affine(norm.init(key(0), x), 5)
  g, b = variables["params"]["scale"], variables["params"]["bias"]
  y, updates = norm.apply(variables, x, mutable=["batch_stats"])
  mean = x.mean(axis=(0, 1, 2))
  var = ((x - mean) ** 2).mean(axis=(0, 1, 2))  # Biased, as the normalisation uses.
  np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + EPS) * g + b, rtol=1e-4, atol=1e-4)
  stats = updates["batch_stats"]
  np.testing.assert_allclose(stats["mean"], 0.9 * 0.0 + 0.1 * mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(stats["var"], 0.9 * 1.0 + 0.1 * var, rtol=1e-5, atol=1e-6)

  evaluate = layers.make_norm("batch", train=False, name="bn", epsilon=EPS)
  y_eval = evaluate.apply({**variables, "batch_stats": stats}, x)
  expected = (x - stats["mean"]) / np.sqrt(stats["var"] + EPS) * g + b
  np.testing.assert_allclose(y_eval, expected, rtol=1e-4, atol=1e-4)


def _numpy_group_norm(x, groups, g, b):
  n, h, w, c = x.shape
  y = x.reshape(n, h, w, groups, c // groups)
  mean = y.mean(axis=(1, 2, 4), keepdims=True)
  var = y.var(axis=(1, 2, 4), keepdims=True)
  return ((y - mean) / np.sqrt(var + EPS)).reshape(x.shape) * g + b


@pytest.mark.parametrize("kind,channels,groups,expected_groups", [
    ("layer", 6, 32, 1),
    ("instance", 6, 32, 6),
    ("group", 6, 3, 3),
    ("group", 6, 4, 3),  # 4 does not divide 6: the largest divisor below it.
    ("group", 48, 32, 24),
])
def test_per_example_norms_match_numpy(kind, channels, groups, expected_groups):
  x = _random((2, 4, 3, channels)) * 3.0 + 1.0
  norm = layers.make_norm(kind, train=True, name="n", groups=groups, epsilon=EPS)
  variables = _with_affine(norm.init(key(0), x), channels)
  assert "batch_stats" not in variables
  y = norm.apply(variables, x)
  p = variables["params"]
  expected = _numpy_group_norm(x, expected_groups, p["scale"], p["bias"])
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_layer_norm_spans_all_non_batch_axes():
  x = _random((2, 3, 3, 4))
  y = layers.make_norm("layer", train=True, name="ln", epsilon=EPS).init_with_output(
      key(0), x)[0]
  flat = np.asarray(y).reshape(2, -1)
  np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-5)
  np.testing.assert_allclose(flat.var(axis=1), 1.0, atol=1e-3)


def test_norm_none_is_identity_without_parameters():
  x = _random((2, 3, 3, 4))
  y, variables = layers.make_norm("none", train=True, name="n").init_with_output(key(0), x)
  np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
  assert not jax.tree_util.tree_leaves(variables)


def test_group_count_and_unknown_norm():
  assert [layers.group_count(c, 32) for c in (16, 32, 48, 64, 6)] == [16, 32, 24, 32, 6]
  with pytest.raises(ValueError, match="unknown norm"):
    layers.make_norm("weight", train=True, name="x")


# ---------------------------------------------------------------- pooling, PyTorch semantics


def _torch_out(size, k, s, p, ceil_mode):
  """Output length from PyTorch's MaxPool2d/AvgPool2d docs."""
  out = (math.ceil if ceil_mode else math.floor)((size + 2 * p - k) / s) + 1
  if ceil_mode and (out - 1) * s >= size + p:
    out -= 1
  return out


def _numpy_pool(x, k, s, p, ceil_mode, op, count_include_pad=True):
  """Window by window, as PyTorch's reference CPU kernels do."""
  n, h, w, c = x.shape
  oh, ow = _torch_out(h, k, s, p, ceil_mode), _torch_out(w, k, s, p, ceil_mode)
  out = np.zeros((n, oh, ow, c), np.float32)
  for i in range(oh):
    for j in range(ow):
      h0, w0 = i * s - p, j * s - p
      h1, w1 = min(h0 + k, h + p), min(w0 + k, w + p)
      size = (h1 - h0) * (w1 - w0)
      h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
      window = x[:, h0:h1, w0:w1, :]
      if op == "max":
        out[:, i, j] = window.max(axis=(1, 2))
      else:
        divisor = size if count_include_pad else (h1 - h0) * (w1 - w0)
        out[:, i, j] = window.sum(axis=(1, 2)) / divisor
  return out


@pytest.mark.parametrize("size,k,s,p,ceil_mode", [
    (112, 3, 2, 0, True),   # GoogLeNet maxpool1: 112 -> 56.
    (14, 2, 2, 0, True),    # GoogLeNet maxpool4.
    (7, 3, 2, 0, True),     # Partial last window.
    (8, 3, 2, 1, True),     # Window starting in the right padding is dropped.
    (9, 3, 1, 1, True),     # Inception branch pool.
    (10, 3, 2, 1, False),   # ResNet stem pool.
    (11, 3, 2, 0, False),
])
@pytest.mark.parametrize("impl", ["xla", "slices"])
def test_max_pool_matches_pytorch_arithmetic(size, k, s, p, ceil_mode, impl):
  x = _random((2, size, size + 1, 3))
  y = layers.max_pool(jnp.asarray(x), k, s, padding=p, ceil_mode=ceil_mode, impl=impl)
  np.testing.assert_allclose(y, _numpy_pool(x, k, s, p, ceil_mode, "max"), rtol=1e-6)


def _numpy_max_pool_grad(x, g, k, s, p):
  """Each window's gradient to its first maximum in row-major order (no ceil_mode)."""
  dx = np.zeros(x.shape, np.float64)
  for n in range(x.shape[0]):
    for c in range(x.shape[3]):
      for i in range(g.shape[1]):
        for j in range(g.shape[2]):
          cells = [(a, b) for a in range(i * s - p, i * s - p + k)
                   for b in range(j * s - p, j * s - p + k)
                   if 0 <= a < x.shape[1] and 0 <= b < x.shape[2]]
          a, b = max(cells, key=lambda ab: (x[n, ab[0], ab[1], c], -cells.index(ab)))
          dx[n, a, b, c] += g[n, i, j, c]
  return dx


@pytest.mark.parametrize("size,k,s,p", [(10, 3, 2, 1), (9, 3, 1, 1), (11, 3, 2, 0), (8, 2, 2, 0)])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_max_pool_slices_values_and_gradient(size, k, s, p, dtype):
  # Few distinct values, so windows hold ties; integer cotangents, so sums are exact.
  rng = np.random.default_rng(size + k)
  x = rng.integers(0, 4, (2, size, size + 1, 3)).astype(np.float32)
  ref = layers.max_pool(jnp.asarray(x, dtype), k, s, padding=p)
  g = rng.integers(-3, 4, ref.shape).astype(np.float32)
  pool = lambda impl: lambda v: layers.max_pool(v, k, s, padding=p, impl=impl)
  y, vjp = jax.vjp(pool("slices"), jnp.asarray(x, dtype))
  np.testing.assert_array_equal(np.asarray(y, np.float32), np.asarray(ref, np.float32))
  (dx,) = vjp(jnp.asarray(g, dtype))
  assert dx.dtype == dtype
  np.testing.assert_array_equal(np.asarray(dx, np.float32), _numpy_max_pool_grad(x, g, k, s, p))
  # ... which is the routing of XLA's select-and-scatter (reduce_window's gradient).
  (xla_dx,) = jax.vjp(pool("xla"), jnp.asarray(x, dtype))[1](jnp.asarray(g, dtype))
  np.testing.assert_array_equal(np.asarray(dx, np.float32), np.asarray(xla_dx, np.float32))


@pytest.mark.parametrize("size,k,s,p,ceil_mode,include", [
    (16, 3, 2, 0, True, True),   # NiN's second pool: 16 -> 8, last window clipped.
    (9, 3, 1, 1, False, True),   # Inception v3 branch_pool (count_include_pad).
    (9, 3, 1, 1, False, False),
    (17, 5, 3, 0, False, True),  # Inception v3 aux head: 17 -> 5.
    (8, 3, 2, 1, True, True),
])
def test_avg_pool_matches_pytorch_arithmetic(size, k, s, p, ceil_mode, include):
  x = _random((2, size, size, 3))
  y = layers.avg_pool(jnp.asarray(x), k, s, padding=p, ceil_mode=ceil_mode,
                      count_include_pad=include)
  expected = _numpy_pool(x, k, s, p, ceil_mode, "avg", include)
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size,out", [(14, 4), (13, 6), (14, 7), (5, 3), (6, 6), (1, 7)])
def test_adaptive_avg_pool_bins(size, out):
  x = _random((2, size, size, 2))
  expected = np.zeros((2, out, out, 2), np.float32)
  for i in range(out):
    for j in range(out):
      h0, h1 = math.floor(i * size / out), math.ceil((i + 1) * size / out)
      w0, w1 = math.floor(j * size / out), math.ceil((j + 1) * size / out)
      expected[:, i, j] = x[:, h0:h1, w0:w1].mean(axis=(1, 2))
  np.testing.assert_allclose(layers.adaptive_avg_pool(jnp.asarray(x), out), expected,
                             rtol=1e-5, atol=1e-6)


def test_flatten_chw_is_pytorch_order():
  x = np.arange(2 * 2 * 3 * 4, dtype=np.float32).reshape(2, 2, 3, 4)  # NHWC
  expected = x.transpose(0, 3, 1, 2).reshape(2, -1)
  np.testing.assert_array_equal(layers.flatten_chw(jnp.asarray(x)), expected)


# ---------------------------------------------------------------- SE, BAM, option A


def test_squeeze_excite_matches_numpy():
  x = _random((2, 3, 3, 32))
  se = layers.SqueezeExcite(reduction=16, divisor=8)
  params = se.init(key(0), x)["params"]
  assert params["fc1"]["kernel"].shape == (32, 8)  # 32 / 16 = 2, rounded up to 8 (timm).
  p = jax.tree.map(np.asarray, params)
  s = x.mean(axis=(1, 2))
  s = np.maximum(s @ p["fc1"]["kernel"] + p["fc1"]["bias"], 0)
  s = 1 / (1 + np.exp(-(s @ p["fc2"]["kernel"] + p["fc2"]["bias"])))
  np.testing.assert_allclose(se.apply({"params": params}, x), x * s[:, None, None, :],
                             rtol=1e-5, atol=1e-6)


def _numpy_conv(x, w, b, dilation=1):
  """'Same'-padded stride-1 convolution, NHWC x HWIO, by summing shifted slices."""
  kh, kw = w.shape[:2]
  ph, pw = dilation * (kh // 2), dilation * (kw // 2)
  xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
  h, wd = x.shape[1:3]
  out = np.zeros(x.shape[:3] + (w.shape[-1],), np.float64)
  for i in range(kh):
    for j in range(kw):
      out += xp[:, i * dilation:i * dilation + h, j * dilation:j * dilation + wd] @ w[i, j]
  return out + b


def _numpy_bn(v, axes):
  mean = v.mean(axis=axes, keepdims=True)
  return (v - mean) / np.sqrt(v.var(axis=axes, keepdims=True) + EPS)


def test_bam_matches_paper_equations_in_numpy():
  x = _random((3, 9, 9, 32)).astype(np.float64)
  bam = layers.BAM(reduction=16, dilation=4)
  variables = bam.init(key(0), x.astype(np.float32), train=True)
  y, _ = bam.apply(variables, x.astype(np.float32), train=True, mutable=["batch_stats"])
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), variables["params"])
  # Mc = BN(MLP(AvgPool(F))); the BN's initial affine is the identity.
  mc = x.mean(axis=(1, 2))
  mc = np.maximum(mc @ p["channel_fc0"]["kernel"] + p["channel_fc0"]["bias"], 0)
  mc = _numpy_bn(mc @ p["channel_fc1"]["kernel"] + p["channel_fc1"]["bias"], (0,))
  # Ms = BN(f3 1x1(f2 3x3 dil 4(f1 3x3 dil 4(f0 1x1(F))))), ReLU between.
  ms = np.maximum(_numpy_conv(x, p["spatial_reduce"]["kernel"], p["spatial_reduce"]["bias"]), 0)
  for i in range(2):
    q = p[f"spatial_dilated{i}"]
    ms = np.maximum(_numpy_conv(ms, q["kernel"], q["bias"], dilation=4), 0)
  ms = _numpy_conv(ms, p["spatial_final"]["kernel"], p["spatial_final"]["bias"])
  ms = _numpy_bn(ms, (0, 1, 2))
  attention = 1 + 1 / (1 + np.exp(-(mc[:, None, None, :] + ms)))
  np.testing.assert_allclose(y, x * attention, rtol=1e-4, atol=1e-4)


def test_option_a_shortcut_subsamples_and_zero_pads():
  """With every conv zeroed the residual branch is 0, leaving relu(shortcut(x))."""
  x = _random((2, 8, 8, 16))
  block = BasicBlock(32, stride=2, shortcut="pad")
  variables = block.init(key(0), x)
  variables = jax.tree_util.tree_map_with_path(
      lambda path, a: jnp.zeros_like(a) if "kernel" in jax.tree_util.keystr(path) else a,
      variables)
  y = block.apply(variables, x)
  expected = np.zeros((2, 4, 4, 32), np.float32)
  expected[..., 8:24] = x[:, ::2, ::2, :]  # 16 extra channels, split 8 | 8.
  chex.assert_trees_all_close(y, np.maximum(expected, 0), atol=1e-6)


def _lrn_paper(a, n, k, alpha, beta):
  """Krizhevsky et al. (2012), sec. 3.3, written as the paper's loop over channel i."""
  big_n = a.shape[-1]
  b = np.empty_like(a, dtype=np.float64)
  for i in range(big_n):
    lo, hi = max(0, i - n // 2), min(big_n - 1, i + n // 2)
    s = np.sum(a[..., lo:hi + 1].astype(np.float64) ** 2, axis=-1)
    b[..., i] = a[..., i] / (k + alpha * s) ** beta
  return b


@pytest.mark.parametrize("n,k,alpha,beta", [(5, 2.0, 1e-4, 0.75), (3, 1.0, 0.5, 0.6)])
def test_lrn_matches_paper_formula(n, k, alpha, beta):
  # Large activations so the alpha * sum term moves the result well beyond rounding
  # (with AlexNet's alpha=1e-4 and unit inputs the layer is nearly a constant scale).
  x = _random((2, 3, 4, 9), seed=3) * 30.0
  got = layers.local_response_norm(jnp.asarray(x), size=n, k=k, alpha=alpha, beta=beta)
  want = _lrn_paper(x, n, k, alpha, beta)
  assert np.max(np.abs(want / (x / k ** beta) - 1)) > 0.05  # the normalisation bites
  np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6, atol=1e-6)


def test_lrn_matches_tensorflow_with_derived_mapping():
  """TF: sqr_sum = sum(a[d - depth_radius : d + depth_radius + 1] ** 2) and
  b = a / (bias + alpha * sqr_sum) ** beta. The window is 2 * depth_radius + 1 channels and
  alpha multiplies the plain sum, so the paper's (n, k, alpha, beta) maps to
  depth_radius = (n - 1) / 2, bias = k, alpha = alpha, beta = beta."""
  tf = pytest.importorskip("tensorflow")
  x = _random((2, 5, 5, 16), seed=4) * 40.0
  n, k, alpha, beta = 5, 2.0, 1e-4, 0.75
  want = tf.nn.local_response_normalization(x, depth_radius=(n - 1) // 2, bias=k,
                                            alpha=alpha, beta=beta).numpy()
  got = layers.local_response_norm(jnp.asarray(x), size=n, k=k, alpha=alpha, beta=beta)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="odd"):
    layers.local_response_norm(jnp.asarray(x), size=4)
