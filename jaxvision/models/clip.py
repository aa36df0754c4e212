"""CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision"): a ViT image tower and a causal text tower projected into one embedding space.

Layout and names (what checkpoints and jaxvision.weights.hf_clip address):
  encoder            the image tower, jaxvision.models.vit.ViT in CLIP's form: patch conv
                     without bias, class token, learned positions, LayerNorm before the
                     blocks (ln_pre), quick-GELU, LayerNorm eps 1e-5, class-token pooling,
                     no head (it returns the pooled, normed feature);
  text               jaxvision.models.text.TextTransformer (feature at end-of-text);
  visual_projection, text_projection   linear maps to `embed_dim`, no bias;
  logit_scale        the learned log inverse temperature, started at log(1/0.07).

`encode_image` / `encode_text` return the projected embeddings *before* L2 normalisation, as
the reference does; `__call__(images, tokens)` returns (image_emb, text_emb, logit_scale) for
jaxvision.losses.clip_loss. `features` is the image tower's pooled feature (for probes).
"""

import functools
import math
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models.registry import ModelSpec
from jaxvision.models.text import TextTransformer
from jaxvision.models.vit import ViT


class CLIP(nn.Module):
  num_classes: int = 0  # Unused (no classifier); every zoo model takes it.
  embed_dim: int = 512
  # Image tower.
  image_size: int = 224
  patch_size: int = 32
  vision_width: int = 768
  vision_depth: int = 12
  vision_heads: int = 12
  vision_mlp_ratio: float = 4.0
  # Text tower.
  vocab_size: int = 49408
  context_length: int = 77
  text_width: int = 512
  text_depth: int = 12
  text_heads: int = 8
  text_mlp_ratio: float = 4.0
  eot_token_id: Optional[int] = None
  # Both towers.
  activation: str = "quick_gelu"
  ln_eps: float = 1e-5
  logit_scale_init: float = math.log(1 / 0.07)
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def setup(self):
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    self.encoder = ViT(num_classes=0, head=False, image_size=self.image_size,
                       patch_size=self.patch_size, hidden_dim=self.vision_width,
                       depth=self.vision_depth, num_heads=self.vision_heads,
                       mlp_ratio=self.vision_mlp_ratio, class_token=True, pos_embed="learned",
                       pre_norm=True, ln_eps=self.ln_eps, activation=self.activation,
                       pooling="cls", patch_bias=False, **kw)
    self.text = TextTransformer(vocab_size=self.vocab_size, context_length=self.context_length,
                                width=self.text_width, depth=self.text_depth,
                                num_heads=self.text_heads, mlp_ratio=self.text_mlp_ratio,
                                activation=self.activation, ln_eps=self.ln_eps,
                                eot_token_id=self.eot_token_id, **kw)
    # CLIP's init of the projections: N(0, width ** -0.5).
    self.visual_projection = nn.Dense(
        self.embed_dim, use_bias=False, name="visual_projection",
        kernel_init=nn.initializers.normal(self.vision_width ** -0.5), **kw)
    self.text_projection = nn.Dense(
        self.embed_dim, use_bias=False, name="text_projection",
        kernel_init=nn.initializers.normal(self.text_width ** -0.5), **kw)
    self.logit_scale = self.param("logit_scale", nn.initializers.constant(self.logit_scale_init),
                                  (), self.param_dtype)

  def features(self, images, *, train: bool = False):
    """(N, vision_width) pooled image-tower features, before the projection."""
    return self.encoder(images, train=train)

  def encode_image(self, images, *, train: bool = False):
    """NHWC images -> (N, embed_dim) projected, unnormalised image embeddings."""
    return self.visual_projection(self.encoder(images, train=train))

  def encode_text(self, tokens):
    """(N, T) token ids -> (N, embed_dim) projected, unnormalised text embeddings."""
    return self.text_projection(self.text(tokens))

  def __call__(self, images, tokens, *, train: bool = False):
    return self.encode_image(images, train=train), self.encode_text(tokens), self.logit_scale


# Radford et al. 2021, table 20 (embed dim; image width, layers, heads; text width, heads).
B_SETTINGS = dict(embed_dim=512, vision_width=768, vision_depth=12, vision_heads=12,
                  text_width=512, text_depth=12, text_heads=8)
TEST_SETTINGS = dict(embed_dim=16, image_size=16, patch_size=4, vision_width=32, vision_depth=2,
                     vision_heads=2, vocab_size=600, context_length=16, text_width=32,
                     text_depth=2, text_heads=2)

MODELS = {
    "clip": ModelSpec(CLIP, (224, 224, 3),
                      "CLIP, every size a setting (defaults: ViT-B/32 image tower)"),
    "clip_vit_b32": ModelSpec(functools.partial(CLIP, patch_size=32, **B_SETTINGS),
                              (224, 224, 3), "CLIP ViT-B/32 (image 224, text 12x512)"),
    "clip_vit_b16": ModelSpec(functools.partial(CLIP, patch_size=16, **B_SETTINGS),
                              (224, 224, 3), "CLIP ViT-B/16 (image 224, text 12x512)"),
    "clip_test": ModelSpec(functools.partial(CLIP, **TEST_SETTINGS), (16, 16, 3),
                           "CLIP for tests (2+2 layers, width 32, 16x16 images, 16 tokens)"),
}
