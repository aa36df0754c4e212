"""Convolution as one matrix product over shifted slices ("im2col by slicing"), and 'auto'.

Why: on XLA's CPU backend the convolution kernels, above all their backward passes, are
slow on the small feature maps of CIFAR-size networks (a 3x3 conv on 2x2x256 maps, forward
and backward, took 1.2 s here against 73 ms this way; BUILD_NOTES.md). Written as
kh*kw strided slices concatenated on the channel axis and one dot with the (kh*kw*cin,
cout) kernel, the work becomes a GEMM, which XLA's CPU backend runs through Eigen's tuned
matrix product -- forward and both gradients. On GPU/TPU keep XLA's convolution
(`conv_impl='xla'`): cuDNN and the TPU convolution units are faster than materialised
patches.

`gemm_conv_general_dilated` has `lax.conv_general_dilated`'s signature so that it can be
passed to `flax.linen.Conv(conv_general_dilated=...)`: parameters (names, HWIO shapes, init)
stay exactly those of nn.Conv and checkpoints are interchangeable between the two. Cases it
does not cover (dilation, grouped convs, other layouts) fall back to lax.

`conv_impl='auto'` (every model's default) picks per convolution, when the model is traced:
XLA's convolution on GPU/TPU, and on the CPU the faster of the two for that shape class as
measured on a 2-core x86 CPU (session 10, BUILD_NOTES.md, `benchmarks/cpu_conv_layers.py`,
forward and both gradients): the GEMM for 1x1 kernels (a plain dot; XLA's was 1.4-3.4x
slower), for outputs of at most 2x2 (XLA's 2-13x slower: its backward pass on tiny maps),
for inputs of 256 channels or more (1.0-2.1x), and for 5x5+ stride-1 kernels over 1-3
input channels (LeNet's C1, NiN's first conv: 1.5-2.4x); XLA's for the rest -- mostly 3x3
convs on maps of 4x4 and more with up to 128 channels, where XLA's spatial convolution was
1.1-2.4x faster than the materialised patches. Two measured shapes disagree with the rule
by less than the gap the rule closes (ResNet-50's 7x7/2 stem, GEMM 1.16x; a 5x5 64->192
conv on 7x7 maps, GEMM 1.4x). Either choice computes the same function; only speed differs.

Session 14 found that jaxlib 0.10's XLA:CPU ran those convolutions through YNNPACK, on one
core; `jaxvision` now starts JAX with XLA's own (Eigen) convolutions instead
(jaxvision/xla_cpu_flags.py), which made XLA's column 1.1-3.3x faster per layer. Measured
again under Eigen (BUILD_NOTES.md, session 14), the GEMM still wins on outputs of at most 2x2
(5.8-14x) and on LeNet's C1 and C5 (1.4x, 2.7x); on 1x1 kernels and 256+ channels the two tie
or XLA's is faster per layer (0.6-1.0x), yet on the whole ResNet-50 step the rule as written
beat both all-XLA (1.18x) and all-GEMM (1.12x), so it was kept for both engines.
"""

import jax
import jax.numpy as jnp
from jax import lax

NHWC = ("NHWC", "HWIO", "NHWC")


def _pads(padding, in_hw, kernel_hw, strides):
  if isinstance(padding, str):
    return lax.padtype_to_pads(in_hw, kernel_hw, strides, padding)
  return [tuple(p) for p in padding]


def _plain(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count):
  """True for the convolutions the GEMM form covers: 2-D, NHWC/HWIO, no dilation or groups."""
  return (all(d == 1 for d in (lhs_dilation or (1, 1))) and
          all(d == 1 for d in (rhs_dilation or (1, 1))) and feature_group_count == 1 and
          lhs.ndim == 4 and dimension_numbers is not None and
          lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC) == dimension_numbers)


def gemm_conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                              rhs_dilation=None, dimension_numbers=None,
                              feature_group_count=1, precision=None,
                              preferred_element_type=None):
  if not _plain(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count):
    return lax.conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
        feature_group_count=feature_group_count, precision=precision,
        preferred_element_type=preferred_element_type)
  kh, kw, cin, cout = rhs.shape
  sh, sw = window_strides
  (top, bottom), (left, right) = _pads(padding, lhs.shape[1:3], (kh, kw), (sh, sw))
  x = jnp.pad(lhs, ((0, 0), (top, bottom), (left, right), (0, 0)))
  out_h = (x.shape[1] - kh) // sh + 1
  out_w = (x.shape[2] - kw) // sw + 1
  # Column order (i, j, channel) matches the HWIO kernel reshaped to (kh * kw * cin, cout).
  cols = [lax.slice(x, (0, i, j, 0), (x.shape[0], i + sh * (out_h - 1) + 1,
                                     j + sw * (out_w - 1) + 1, cin), (1, sh, sw, 1))
          for i in range(kh) for j in range(kw)]
  patches = cols[0] if len(cols) == 1 else jnp.concatenate(cols, axis=-1)
  return jnp.dot(patches, rhs.reshape(kh * kw * cin, cout), precision=precision,
                 preferred_element_type=preferred_element_type)


def gemm_wins_on_cpu(lhs_shape, rhs_shape, window_strides, padding) -> bool:
  """The measured CPU rule of the module docstring, for an NHWC input and an HWIO kernel."""
  kh, kw, cin, _ = rhs_shape
  (top, bottom), (left, right) = _pads(padding, lhs_shape[1:3], (kh, kw), window_strides)
  out_h = (lhs_shape[1] + top + bottom - kh) // window_strides[0] + 1
  out_w = (lhs_shape[2] + left + right - kw) // window_strides[1] + 1
  return (kh * kw == 1 or out_h * out_w <= 4 or cin >= 256 or
          (kh * kw >= 25 and cin <= 3 and tuple(window_strides) == (1, 1)))


def auto_conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                              rhs_dilation=None, dimension_numbers=None,
                              feature_group_count=1, precision=None,
                              preferred_element_type=None):
  """lax's or the GEMM convolution, chosen at trace time by backend and shape (see above)."""
  kw = dict(lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers, feature_group_count=feature_group_count,
            precision=precision, preferred_element_type=preferred_element_type)
  if (jax.default_backend() == "cpu" and
      _plain(lhs, rhs, lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count) and
      gemm_wins_on_cpu(lhs.shape, rhs.shape, window_strides, padding)):
    return gemm_conv_general_dilated(lhs, rhs, window_strides, padding, **kw)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, **kw)


CONV_IMPLS = ("auto", "xla", "gemm")


def conv_function(impl: str):
  """The `conv_general_dilated` for flax.linen.Conv: 'auto' (the default of every model:
  the faster of the two for the backend and shape), 'xla' (lax's) or 'gemm' (this file)."""
  if impl == "xla":
    return None  # nn.Conv's default, lax.conv_general_dilated
  if impl == "gemm":
    return gemm_conv_general_dilated
  if impl == "auto":
    return auto_conv_general_dilated
  raise ValueError(f"unknown conv_impl {impl!r}; use one of {', '.join(CONV_IMPLS)}")
