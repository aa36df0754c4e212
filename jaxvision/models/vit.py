"""Vision Transformer (Dosovitskiy et al. 2021), in the layout of timm / MAE / CLIP.

Image -> non-overlapping patches by a strided conv (`patch_embed`) -> optional class token
(`cls_token`) -> position embeddings (`pos_embed`: "learned", or "sincos", the fixed 2-D
sin-cos table of MAE's `get_2d_sincos_pos_embed`, not a parameter) -> optional LayerNorm
(`pre_norm`, CLIP's ln_pre) -> pre-LN transformer blocks (`block_0`, ...) -> final LayerNorm
(`norm`) -> pooling of the class token or the mean of the patch tokens -> `head`.

Attention keeps separate q, k, v and out Dense layers with biases, so Hugging Face CLIP maps
one-to-one and timm's fused `qkv` splits into three. Speed settings that keep those parameters
(names, shapes, init): `attention_impl` ('xla': jaxvision's einsums, the default; 'cudnn':
`jax.nn.dot_product_attention`'s cuDNN flash attention, GPU and 16-bit dtypes only; 'auto':
'cudnn' when the default backend is a GPU and the dtype 16-bit, else 'xla'; 'dot_product':
`jax.nn.dot_product_attention`'s XLA path, the same call as 'cudnn' on any backend) and
`fused_qkv` (one matmul against the q, k, v kernels concatenated at call time). With num_classes == 0 or head=False,
`__call__` returns the pooled features and no classifier exists. Parameters: vit_base at
patch 16, 224x224, 1000 classes, learned position embeddings: 86,567,656 (timm
vit_base_patch16_224).

MAE (jaxvision.models.mae) runs the pieces separately: `embed_patches` (patch tokens with
their position embeddings), `prepend_cls`, then `encode_tokens` on the visible tokens only.
"""

import functools
from typing import Any, Optional

import flax.linen as nn
from flax.linen.dtypes import promote_dtype
import jax
import jax.numpy as jnp
import numpy as np

from jaxvision.errors import UserError
from jaxvision.models.registry import ModelSpec

POS_EMBEDS = ("sincos", "learned")
POOLINGS = ("cls", "mean")
ACTIVATIONS = ("gelu", "quick_gelu")
ATTENTION_IMPLS = ("xla", "cudnn", "auto", "dot_product")

# MAE's init: xavier-uniform Linear layers with zero bias; the patch conv as a flattened Linear.
dense_init = nn.initializers.xavier_uniform()
patch_init = nn.initializers.variance_scaling(1.0, "fan_avg", "uniform", in_axis=(0, 1, 2),
                                              out_axis=3)


def sincos_pos_embed_2d(dim: int, grid_h: int, grid_w: int) -> np.ndarray:
  """MAE's fixed 2-D sin-cos position table, (grid_h * grid_w, dim), raster order.

  The first dim/2 columns encode the patch *column* and the last dim/2 the patch *row* (the
  reference takes np.meshgrid(w, h)[0], the column index, first); each half is
  [sin(pos * omega), cos(pos * omega)] with omega_k = 10000 ** (-k / (dim / 4)).
  """
  if dim % 4:
    raise UserError(f"sincos position embeddings need a width divisible by 4, got {dim}; "
                    "use pos_embed='learned' or another width")
  omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4))

  def one_axis(pos):
    out = np.outer(pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)

  rows, cols = np.divmod(np.arange(grid_h * grid_w), grid_w)
  return np.concatenate([one_axis(cols), one_axis(rows)], axis=1).astype(np.float32)


def quick_gelu(x):
  """CLIP's GELU approximation x * sigmoid(1.702 x)."""
  return x * jax.nn.sigmoid(1.702 * x)


def activation_fn(name: str):
  if name == "gelu":
    return functools.partial(nn.gelu, approximate=False)  # PyTorch nn.GELU: exact erf.
  if name == "quick_gelu":
    return quick_gelu
  raise UserError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")


def resolve_attention_impl(impl: str, dtype) -> str:
  """'auto' -> 'cudnn' on a GPU default backend with a 16-bit dtype, else 'xla'."""
  if impl not in ATTENTION_IMPLS:
    raise UserError(f"unknown attention_impl {impl!r}; valid: {', '.join(ATTENTION_IMPLS)}")
  if impl != "auto":
    return impl
  sixteen_bit = jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
  return "cudnn" if sixteen_bit and jax.default_backend() == "gpu" else "xla"


class DenseParams(nn.Module):
  """The kernel and bias of an `nn.Dense(features)` (same names, shapes, init, order of
  creation, hence the same initial values), returned instead of applied."""

  features: int
  in_features: int
  kernel_init: Any = dense_init
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self):
    kernel = self.param("kernel", self.kernel_init, (self.in_features, self.features),
                        self.param_dtype)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), self.param_dtype)
    return kernel, bias


class Attention(nn.Module):
  """Multi-head self-attention with separate q, k, v, out projections (all with bias).

  causal=True lets token i attend to tokens <= i only (CLIP's text tower). attention_impl and
  fused_qkv: see the module docstring; neither changes the parameters.
  """

  dim: int
  num_heads: int
  causal: bool = False
  attention_impl: str = "xla"
  fused_qkv: bool = False
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def _qkv(self, x):
    dense = functools.partial(nn.Dense, self.dim, kernel_init=dense_init, dtype=self.dtype,
                              param_dtype=self.param_dtype)
    if not self.fused_qkv:
      return [dense(name=name)(x) for name in "qkv"]
    params = [DenseParams(self.dim, x.shape[-1], param_dtype=self.param_dtype, name=name)()
              for name in "qkv"]
    kernel = jnp.concatenate([k for k, _ in params], axis=1)
    bias = jnp.concatenate([b for _, b in params])
    x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)
    y = jax.lax.dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ())))
    return jnp.split(y + bias, 3, axis=-1)

  @nn.compact
  def __call__(self, x):
    n, t, _ = x.shape
    if self.dim % self.num_heads:
      raise UserError(f"width {self.dim} is not divisible by num_heads {self.num_heads}")
    impl = resolve_attention_impl(self.attention_impl, self.dtype)
    head_dim = self.dim // self.num_heads
    split = lambda y: y.reshape(n, t, self.num_heads, head_dim)
    q, k, v = (split(y) for y in self._qkv(x))
    if impl == "xla":
      q = q * jnp.asarray(head_dim ** -0.5, self.dtype)
      logits = jnp.einsum("nqhd,nkhd->nhqk", q, k)
      if self.causal:
        # The dtype's lowest finite value, not -inf: no inf - inf = NaN inside the softmax.
        keep = jnp.tril(jnp.ones((t, t), bool))
        logits = jnp.where(keep, logits, jnp.finfo(logits.dtype).min)
      # Softmax in float32 even for bfloat16 compute: the row sums are where precision is lost.
      weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(self.dtype)
      out = jnp.einsum("nhqk,nkhd->nqhd", weights, v)
    else:  # (N, T, heads, head_dim) in and out; softmax in float32 inside.
      out = jax.nn.dot_product_attention(
          q, k, v, scale=head_dim ** -0.5, is_causal=self.causal,
          implementation="cudnn" if impl == "cudnn" else None)
    return nn.Dense(self.dim, kernel_init=dense_init, dtype=self.dtype,
                    param_dtype=self.param_dtype, name="out")(out.reshape(n, t, self.dim))


class Mlp(nn.Module):
  hidden_dim: int
  activation: str = "gelu"
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    dense = functools.partial(nn.Dense, kernel_init=dense_init, dtype=self.dtype,
                              param_dtype=self.param_dtype)
    out_dim = x.shape[-1]
    x = activation_fn(self.activation)(dense(self.hidden_dim, name="fc1")(x))
    return dense(out_dim, name="fc2")(x)


class Block(nn.Module):
  """Pre-LN transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

  dim: int
  num_heads: int
  mlp_dim: int
  activation: str = "gelu"
  ln_eps: float = 1e-6
  causal: bool = False
  attention_impl: str = "xla"
  fused_qkv: bool = False
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    norm = functools.partial(nn.LayerNorm, epsilon=self.ln_eps, dtype=self.dtype,
                             param_dtype=self.param_dtype)
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    x = x + Attention(self.dim, self.num_heads, self.causal, self.attention_impl,
                      self.fused_qkv, name="attn", **kw)(norm(name="norm1")(x))
    return x + Mlp(self.mlp_dim, self.activation, name="mlp", **kw)(norm(name="norm2")(x))


class ViT(nn.Module):
  """Vision Transformer; see the module docstring for the layout and names."""

  num_classes: int = 1000
  image_size: int = 224
  patch_size: int = 16
  hidden_dim: int = 768
  depth: int = 12
  num_heads: int = 12
  mlp_ratio: float = 4.0
  class_token: bool = True
  pos_embed: str = "learned"
  pre_norm: bool = False
  ln_eps: float = 1e-6
  activation: str = "gelu"
  pooling: str = "cls"
  patch_bias: bool = True
  head: bool = True
  in_channels: Optional[int] = None  # Unused: the conv infers channels; kept for configs.
  # Speed only, the parameters stay the same: see the module docstring.
  attention_impl: str = "xla"
  fused_qkv: bool = False
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @property
  def grid(self) -> int:
    return self.image_size // self.patch_size

  @property
  def num_patches(self) -> int:
    return self.grid * self.grid

  def setup(self):
    if self.image_size % self.patch_size:
      raise UserError(f"image_size {self.image_size} is not a multiple of patch_size "
                      f"{self.patch_size}; set model.image_size to a multiple")
    if self.pos_embed not in POS_EMBEDS:
      raise UserError(f"unknown pos_embed {self.pos_embed!r}; valid: {', '.join(POS_EMBEDS)}")
    if self.pooling not in POOLINGS:
      raise UserError(f"unknown pooling {self.pooling!r}; valid: {', '.join(POOLINGS)}")
    if self.pooling == "cls" and not self.class_token:
      raise UserError("pooling='cls' needs class_token=True; use pooling='mean'")
    activation_fn(self.activation)  # Fail at build time on a typo.
    resolve_attention_impl(self.attention_impl, self.dtype)
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    p = self.patch_size
    self.patch_embed = nn.Conv(self.hidden_dim, (p, p), (p, p), padding="VALID",
                               use_bias=self.patch_bias, kernel_init=patch_init, **kw)
    if self.class_token:
      self.cls_token = self.param("cls_token", nn.initializers.normal(0.02),
                                  (1, 1, self.hidden_dim), self.param_dtype)
    if self.pos_embed == "learned":
      length = self.num_patches + int(self.class_token)
      self.pos_embedding = self.param("pos_embed", nn.initializers.normal(0.02),
                                      (1, length, self.hidden_dim), self.param_dtype)
    if self.pre_norm:
      self.pre_layer_norm = nn.LayerNorm(epsilon=self.ln_eps, name="pre_norm", **kw)
    mlp_dim = int(self.hidden_dim * self.mlp_ratio)
    self.blocks = [Block(self.hidden_dim, self.num_heads, mlp_dim, self.activation, self.ln_eps,
                         attention_impl=self.attention_impl, fused_qkv=self.fused_qkv,
                         name=f"block_{i}", **kw) for i in range(self.depth)]
    self.norm = nn.LayerNorm(epsilon=self.ln_eps, **kw)
    if self.head and self.num_classes:
      self.classifier = nn.Dense(self.num_classes, kernel_init=nn.initializers.zeros,
                                 name="head", **kw)

  def _positions(self):
    """(1, L + class_token, D) position table; the class token's row is zeros for sincos."""
    if self.pos_embed == "learned":
      return self.pos_embedding
    table = sincos_pos_embed_2d(self.hidden_dim, self.grid, self.grid)
    if self.class_token:
      table = np.concatenate([np.zeros((1, self.hidden_dim), np.float32), table])
    return jnp.asarray(table[None])

  def embed_patches(self, x):
    """NHWC images -> (N, L, D) patch tokens, position embeddings added (no class token)."""
    if x.ndim != 4 or x.shape[1] != self.image_size or x.shape[2] != self.image_size:
      raise UserError(f"ViT built for {self.image_size}x{self.image_size} images got input "
                      f"shape {tuple(x.shape)}; set model.image_size to the input size")
    tokens = self.patch_embed(x.astype(self.dtype))
    tokens = tokens.reshape(x.shape[0], -1, self.hidden_dim)
    pos = self._positions()[:, int(self.class_token):]
    return tokens + pos.astype(self.dtype)

  def prepend_cls(self, tokens):
    """Adds the class token (with its position row) in front; identity without one."""
    if not self.class_token:
      return tokens
    cls = self.cls_token + self._positions()[:, :1]
    cls = jnp.broadcast_to(cls.astype(self.dtype), (tokens.shape[0], 1, self.hidden_dim))
    return jnp.concatenate([cls, tokens], axis=1)

  def encode_tokens(self, tokens, *, train: bool = False):
    """pre_norm (if any), the transformer blocks and the final norm on any token sequence."""
    del train  # No dropout or drop-path: MAE pre-training and probing use none.
    if self.pre_norm:
      tokens = self.pre_layer_norm(tokens)
    for block in self.blocks:
      tokens = block(tokens)
    return self.norm(tokens)

  def pool(self, tokens):
    """Class token, or the mean of the patch tokens (class token excluded, as timm 'avg')."""
    if self.pooling == "cls":
      return tokens[:, 0]
    return jnp.mean(tokens[:, int(self.class_token):], axis=1)

  def features(self, x, *, train: bool = False):
    """(N, D) pooled features of all patches."""
    tokens = self.prepend_cls(self.embed_patches(x))
    return self.pool(self.encode_tokens(tokens, train=train))

  def __call__(self, x, *, train: bool = False):
    feats = self.features(x, train=train)
    if not (self.head and self.num_classes):
      return feats
    return self.classifier(feats)


# Variants are data: (width, depth, heads) from Dosovitskiy et al. Table 1 and DeiT (tiny, small).
VARIANTS = {
    "vit_tiny": (192, 12, 3),
    "vit_small": (384, 12, 6),
    "vit_base": (768, 12, 12),
    "vit_large": (1024, 24, 16),
    "vit_test": (32, 2, 2),
    # Laptop size (this project's, not a paper's): the encoder of configs/mae_fashion_mnist.py.
    "vit_mini": (96, 4, 4),
}


def vit(name: str, **overrides):
  width, depth, heads = VARIANTS[name]
  kw = dict(hidden_dim=width, depth=depth, num_heads=heads)
  if name == "vit_test":
    kw.update(image_size=16, patch_size=4)
  kw.update(overrides)
  return functools.partial(ViT, **kw)


MODELS = {
    name: ModelSpec(vit(name), (16, 16, 3) if name == "vit_test" else (224, 224, 3),
                    f"ViT {name[4:]}: width {w}, depth {d}, {h} heads" +
                    (" (patch 4, 16x16, for tests)" if name == "vit_test" else ", patch 16"),
                    heads=("head",))
    for name, (w, d, h) in VARIANTS.items()
}
