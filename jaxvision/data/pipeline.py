"""Shard per host, shuffle, augment, batch, prefetch; host-local numpy batches out.

Determinism: the training stream is a function of (seed, step). Each host keeps the examples
`process_index::process_count`, shuffles them with a fixed op seed (a new order each epoch,
the same orders in every run), numbers every example it emits, and derives its augmentation
seed from (seed, that number). Resuming at step s skips s * local_batch examples *before*
decoding and augmentation, so a resumed run sees exactly the batches an uninterrupted run
would have seen.

Evaluation covers the whole split exactly once: each host pads its shard with masked
examples (mask 0) so all hosts run the same number of batches.
"""

import math
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from jaxvision.data.sources import Source

ViewFn = Callable[[dict, tf.Tensor], dict]
# Large datasets shuffle through a buffer this big (and TFDS file shuffling, when available).
STREAM_SHUFFLE_BUFFER = 16_384


def _example_seed(seed: int, process_index: int, position):
  # Host index folded in so two hosts never share augmentation randomness.
  return tf.stack([tf.cast(seed, tf.int64),
                   tf.cast(position, tf.int64) * 65_536 + process_index])


def train_batches(source: Source, view: ViewFn, *, split: str = "train", local_batch: int,
                  seed: int, start_step: int = 0, process_index: int = 0,
                  process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
  """Endless host-local training batches, starting at global step `start_step`."""
  ds = source.dataset(split).shard(process_count, process_index)
  host_examples = len(range(process_index, source.num_examples[split], process_count))
  buffer = host_examples if source.in_memory else min(host_examples, STREAM_SHUFFLE_BUFFER)
  ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
  ds = ds.enumerate().skip(start_step * local_batch)
  ds = ds.map(lambda position, ex: view(ex, _example_seed(seed, process_index, position)),
              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.batch(local_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
  return ds.as_numpy_iterator()


def num_eval_batches(num_examples: int, local_batch: int, process_count: int) -> int:
  per_host = math.ceil(num_examples / process_count)
  return math.ceil(per_host / local_batch)


def eval_batches(source: Source, view: ViewFn, *, split: str, local_batch: int,
                 process_index: int = 0, process_count: int = 1,
                 max_examples: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Every example of `split` once, in order, with 'mask' 1 for real examples, 0 for padding."""
  total = source.num_examples[split]
  if max_examples:
    total = min(total, max_examples)
  ds = source.dataset(split).take(total).shard(process_count, process_index)
  zero_seed = tf.zeros([2], tf.int64)
  ds = ds.map(lambda ex: dict(view(ex, zero_seed), mask=tf.constant(1, tf.int32)),
              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  padding = ds.take(1).map(lambda ex: {k: tf.zeros_like(v) for k, v in ex.items()}).repeat()
  batches = num_eval_batches(total, local_batch, process_count)
  ds = ds.concatenate(padding).take(batches * local_batch)
  ds = ds.batch(local_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
  return ds.as_numpy_iterator()
