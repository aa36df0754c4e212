"""Contrastive losses: SimCLR's NT-Xent and CLIP's symmetric InfoNCE.

Both take *global* arrays. Called inside one `jax.jit` over a Mesh with the batch sharded on
'data', the similarity matrix spans the whole global batch, so every example sees the negatives
of every device; XLA inserts the all-gather that the reference TPU code writes by hand
(SimCLR's `tpu_cross_replica_concat`, CLIP's gather of features before the logits).
"""

import math

import jax
import jax.numpy as jnp

# SimCLR's reference masks self-similarity with -1e9 rather than -inf: a finite value keeps
# the gradient of the masked entries an exact 0 instead of risking inf * 0 = NaN.
_LARGE_NUM = 1e9


def _l2_normalize(x, eps=1e-12):
  # Same rule as tf.math.l2_normalize (used by the SimCLR code): x / sqrt(max(|x|^2, eps)),
  # so an all-zero row maps to zeros instead of NaN.
  sq = jnp.sum(x * x, axis=-1, keepdims=True)
  return x * jax.lax.rsqrt(jnp.maximum(sq, eps))


def nt_xent(z_a, z_b, *, temperature: float):
  """Normalised-temperature cross-entropy of SimCLR (Chen et al. 2020, "A Simple Framework for
  Contrastive Learning of Visual Representations", eq. 1).

  Args:
    z_a, z_b: (N, D) projections; z_a[i] and z_b[i] are the two augmented views of example i.
      Any float dtype; computed in float32.
    temperature: tau > 0 dividing the cosine similarities.

  Returns:
    float32 scalar: the mean over the 2N anchors of
    -log( exp(s(i, pos(i))/tau) / sum_{k != i} exp(s(i, k)/tau) ), where s is the cosine
    similarity among all 2N embeddings, pos(i) the other view of the same example, and the
    2N - 2 other embeddings are the negatives. This is the paper's L = 1/(2N) sum over anchors.
    The reference TensorFlow code (simclr/tf2/objective.py) returns loss_a + loss_b, each a
    mean over N anchors, i.e. twice this value (mind the factor when comparing logged losses).
  """
  if z_a.shape != z_b.shape or z_a.ndim != 2:
    raise ValueError(f"nt_xent wants two (N, D) arrays of one shape, got {z_a.shape} and "
                     f"{z_b.shape}")
  n = z_a.shape[0]
  a = _l2_normalize(z_a.astype(jnp.float32))
  b = _l2_normalize(z_b.astype(jnp.float32))
  z = jnp.concatenate([a, b], axis=0)  # (2N, D): rows 0..N-1 view a, N..2N-1 view b
  logits = (z @ z.T) / temperature
  logits = logits - _LARGE_NUM * jnp.eye(2 * n, dtype=jnp.float32)
  # The positive of row i is row (i + N) mod 2N; its similarity is the same for both halves.
  pos = jnp.sum(a * b, axis=-1) / temperature
  pos = jnp.concatenate([pos, pos], axis=0)
  return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - pos)


def init_logit_scale() -> float:
  """CLIP's initial log temperature, log(1 / 0.07) (Radford et al. 2021, sec. 2.5)."""
  return math.log(1.0 / 0.07)


def clip_loss(image_emb, text_emb, *, logit_scale):
  """Symmetric InfoNCE of CLIP (Radford et al. 2021, "Learning Transferable Visual Models From
  Natural Language Supervision", fig. 3 pseudocode).

  Args:
    image_emb: (N, D) image embeddings; text_emb: (N, D) embeddings of the matching captions
      (row i of each is a positive pair, every other row a negative). Computed in float32.
    logit_scale: scalar log of the inverse temperature, usually a learned parameter started
      at `init_logit_scale()`. The scale used is exp(min(logit_scale, log 100)): the paper
      clips the multiplier at 100 "to prevent scaling the logits by more than 100". The
      reference code clamps the parameter after each optimizer step; clipping here has the same
      forward value and passes no gradient to logit_scale while it is above log 100.

  Returns:
    float32 scalar: (CE(image -> text) + CE(text -> image)) / 2, each a mean over N with the
    diagonal as targets.
  """
  if image_emb.shape != text_emb.shape or image_emb.ndim != 2:
    raise ValueError(f"clip_loss wants two (N, D) arrays of one shape, got {image_emb.shape} "
                     f"and {text_emb.shape}")
  img = _l2_normalize(image_emb.astype(jnp.float32))
  txt = _l2_normalize(text_emb.astype(jnp.float32))
  scale = jnp.exp(jnp.minimum(jnp.asarray(logit_scale, jnp.float32), math.log(100.0)))
  logits = scale * (img @ txt.T)  # (N, N): row i = image i against every caption
  diag = jnp.diagonal(logits)
  loss_i2t = jnp.mean(jax.nn.logsumexp(logits, axis=1) - diag)
  loss_t2i = jnp.mean(jax.nn.logsumexp(logits, axis=0) - diag)
  return 0.5 * (loss_i2t + loss_t2i)
