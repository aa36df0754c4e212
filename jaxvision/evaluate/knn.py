"""Weighted k-nearest-neighbour classification on frozen features.

Wu, Xiong, Yu, Lin 2018 ("Unsupervised Feature Learning via Non-Parametric Instance
Discrimination", sec. 3.4), the kNN monitor that MoCo and SimCLR reproductions use: features
L2-normalised, cosine similarity s_i of the query to every training feature, the k most
similar neighbours vote for their class with weight exp(s_i / tau), the class with the
largest total weight wins. Defaults k = 200, tau = 0.07, as in the paper.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


def _normalize(x):
  x = jnp.asarray(x, jnp.float32)
  return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=-1, keepdims=True), 1e-12))


@functools.partial(jax.jit, static_argnames=("num_classes", "k"))
def _predict_chunk(queries, bank, bank_labels, *, num_classes: int, k: int, temperature):
  sims = queries @ bank.T  # (Q, N) cosine similarities
  top, index = jax.lax.top_k(sims, k)
  weights = jnp.exp(top / temperature)  # (Q, k)
  votes = jax.nn.one_hot(bank_labels[index], num_classes) * weights[..., None]
  return jnp.argmax(jnp.sum(votes, axis=1), axis=-1)


def knn_predict(train_x, train_y, test_x, *, num_classes: int, k: int = 200,
                temperature: float = 0.07, chunk: int = 1000) -> np.ndarray:
  """(M,) predicted labels of test_x from the k nearest of train_x (N, D) by cosine.

  Queries go in chunks of `chunk` so the (chunk, N) similarity matrix bounds the memory.
  k is clipped to N. Ties in the vote go to the smaller class index (argmax).
  """
  bank = _normalize(train_x)
  labels = jnp.asarray(train_y, jnp.int32)
  k = min(int(k), bank.shape[0])
  queries = _normalize(test_x)
  n = queries.shape[0]
  pad = (-n) % chunk  # one compiled shape for every chunk
  queries = jnp.concatenate([queries, jnp.zeros((pad, queries.shape[1]), jnp.float32)])
  preds = [_predict_chunk(queries[i:i + chunk], bank, labels, num_classes=num_classes, k=k,
                          temperature=jnp.float32(temperature))
           for i in range(0, n + pad, chunk)]
  return np.asarray(jnp.concatenate(preds))[:n]


def knn_accuracy(train_x, train_y, test_x, test_y, *, num_classes: int, k: int = 200,
                 temperature: float = 0.07) -> float:
  preds = knn_predict(train_x, train_y, test_x, num_classes=num_classes, k=k,
                      temperature=temperature)
  return float(np.mean(preds == np.asarray(test_y)))
