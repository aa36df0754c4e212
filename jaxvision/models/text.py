"""CLIP's text tower: a causal transformer over BPE tokens (Radford et al. 2021, sec. 2.4).

token embedding (`token_embed`) + learned position embeddings (`pos_embed`) -> pre-LN
transformer blocks with a causal mask (`block_0`, ... the ViT's `Block` with causal=True, so
names match the image tower) -> final LayerNorm (`norm`) -> the feature at the end-of-text
token. CLIP finds that token as the argmax of the ids (end-of-text has the largest id in its
vocabulary); with `eot_token_id` set, the first position holding that id is used instead, as
Hugging Face does for configs whose end-of-text id is not the largest.
"""

from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.errors import UserError
from jaxvision.models.vit import Block, activation_fn


class TextTransformer(nn.Module):
  vocab_size: int = 49408
  context_length: int = 77
  width: int = 512
  depth: int = 12
  num_heads: int = 8
  mlp_ratio: float = 4.0
  activation: str = "quick_gelu"
  ln_eps: float = 1e-5
  eot_token_id: Optional[int] = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, tokens):
    """(N, T) int token ids, T <= context_length -> (N, width) features at end-of-text."""
    if tokens.ndim != 2 or tokens.shape[1] > self.context_length:
      raise UserError(f"the text tower takes (N, T<={self.context_length}) token ids, got "
                      f"shape {tuple(tokens.shape)}; tokenize with context_length="
                      f"{self.context_length}")
    activation_fn(self.activation)  # Fail at build time on a typo.
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    # CLIP's init: token embeddings N(0, 0.02), positions N(0, 0.01).
    x = nn.Embed(self.vocab_size, self.width, embedding_init=nn.initializers.normal(0.02),
                 name="token_embed", **kw)(tokens)
    pos = self.param("pos_embed", nn.initializers.normal(0.01),
                     (self.context_length, self.width), self.param_dtype)
    x = x + pos[:tokens.shape[1]].astype(self.dtype)
    mlp_dim = int(self.width * self.mlp_ratio)  # as the ViT computes it
    for i in range(self.depth):
      x = Block(self.width, self.num_heads, mlp_dim, self.activation, self.ln_eps, causal=True,
                name=f"block_{i}", **kw)(x)
    x = nn.LayerNorm(epsilon=self.ln_eps, name="norm", **kw)(x)
    if self.eot_token_id is None:
      eot = jnp.argmax(tokens, axis=-1)  # first occurrence of the largest id
    else:
      eot = jnp.argmax(tokens == self.eot_token_id, axis=-1)
    return x[jnp.arange(tokens.shape[0]), eot]
