"""Classification losses and metrics: pure jax.numpy, float32 inside."""

import jax
import jax.numpy as jnp


def softmax_cross_entropy(logits, labels, *, label_smoothing: float = 0.0):
  """Mean cross-entropy of integer `labels` (N,) under `logits` (N, K).

  With label_smoothing e the target is (1 - e) one-hot + e / K (Szegedy et al. 2016, sec. 7).
  """
  logits = logits.astype(jnp.float32)
  num_classes = logits.shape[-1]
  targets = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
  if label_smoothing:
    targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
  return soft_cross_entropy(logits, targets)


def soft_cross_entropy(logits, targets):
  """Mean over N of -sum_k targets[n, k] log softmax(logits)[n, k]; (N, K) each."""
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return -jnp.mean(jnp.sum(targets.astype(jnp.float32) * log_probs, axis=-1))


def per_example_cross_entropy(logits, labels):
  """(N,) cross-entropy of each example; for masked sums in evaluation."""
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return -jnp.take_along_axis(log_probs, labels[:, None], axis=-1)[:, 0]


def topk_correct(logits, labels, *, k: int):
  """(N,) 1.0 where the label is among the k highest logits."""
  k = min(k, logits.shape[-1])
  _, top = jax.lax.top_k(logits.astype(jnp.float32), k)
  return jnp.any(top == labels[:, None], axis=-1).astype(jnp.float32)
