"""Convolution as one matrix product over shifted slices ("im2col by slicing").

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
"""

import jax.numpy as jnp
from jax import lax

NHWC = ("NHWC", "HWIO", "NHWC")


def _pads(padding, in_hw, kernel_hw, strides):
  if isinstance(padding, str):
    return lax.padtype_to_pads(in_hw, kernel_hw, strides, padding)
  return [tuple(p) for p in padding]


def gemm_conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                              rhs_dilation=None, dimension_numbers=None,
                              feature_group_count=1, precision=None,
                              preferred_element_type=None):
  plain = (all(d == 1 for d in (lhs_dilation or (1, 1))) and
           all(d == 1 for d in (rhs_dilation or (1, 1))) and feature_group_count == 1 and
           lhs.ndim == 4 and dimension_numbers is not None and
           lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC) == dimension_numbers)
  if not plain:
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


def conv_function(impl: str):
  """The `conv_general_dilated` for flax.linen.Conv: 'xla' (lax's) or 'gemm' (this file)."""
  if impl == "xla":
    return None  # nn.Conv's default, lax.conv_general_dilated
  if impl == "gemm":
    return gemm_conv_general_dilated
  raise ValueError(f"unknown conv_impl {impl!r}; use 'xla' or 'gemm'")
