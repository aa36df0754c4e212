"""The global order: (seed, global step) -> example indices, the same for any number of hosts.

Training reads an endless stream of positions 0, 1, 2, ...; position p is example
perm_{seed, e}(p mod N) of epoch e = p // N, where perm is a stateless bijection of
0..N-1 (`tf.random.experimental.index_shuffle`: no N-sized buffer, O(1) per index). Global
batch s is positions s*B .. s*B+B-1. Host h of H takes the contiguous slice
s*B + h*b .. s*B + h*b + b-1 (b = B/H) of every global batch, which is exactly the rows
`jax.make_array_from_process_local_data` places on its devices, so the devices hold the same
examples in the same places whether B is fed by 1, 2 or 64 hosts. Starting at step s costs
the same as starting at step 0: nothing before position s*B is touched.

Augmentation seeds are (seed, position) and order seeds (seed, -1 - epoch), so the two
never share a seed pair.

Evaluation gives host h the contiguous run h*P .. h*P+P-1 (P = ceil(N/H)) of the split,
padded with masked rows so all hosts run the same number of batches.
"""

import math

import numpy as np
import tensorflow as tf

from jaxvision.errors import UserError


def host_batch(global_batch: int, process_count: int) -> int:
  if global_batch % process_count:
    raise UserError(f"the global batch {global_batch} does not split over {process_count} "
                    "hosts; use a batch size divisible by the number of hosts")
  return global_batch // process_count


def _shuffle(offset, epoch, *, num_examples: int, seed: int):
  """perm_{seed, epoch}(offset), offset a scalar or a vector of one epoch's offsets."""
  key = tf.stack([tf.constant(seed, tf.int64), -1 - epoch])
  return tf.random.experimental.index_shuffle(offset, key, num_examples - 1)


def permuted(position, *, num_examples: int, seed: int):
  """Index of the example at stream position `position` (a tf int64 scalar)."""
  position = tf.cast(position, tf.int64)
  if num_examples == 1:
    return tf.zeros_like(position)
  return _shuffle(position % num_examples, position // num_examples,
                  num_examples=num_examples, seed=seed)


def permuted_batch(positions, *, num_examples: int, seed: int):
  """`permuted` of a vector of positions spanning at most two epochs (a batch of at most
  num_examples consecutive positions): the same indices, in one vectorised call per epoch."""
  positions = tf.cast(positions, tf.int64)
  if num_examples == 1:
    return tf.zeros_like(positions)
  epoch, offset = positions // num_examples, positions % num_examples
  first, second = (_shuffle(offset, e, num_examples=num_examples, seed=seed)
                   for e in (epoch[0], epoch[0] + 1))
  return tf.where(epoch == epoch[0], first, second)


def host_step_positions(*, local_batch: int, process_index: int, process_count: int,
                        start_step: int = 0) -> tf.data.Dataset:
  """Endless stream of the [local_batch] vectors of global positions this host reads, one
  per step from `start_step` on."""
  b, big = local_batch, local_batch * process_count
  return tf.data.Dataset.range(start_step, 2 ** 62 // big).map(
      lambda s: s * big + process_index * b + tf.range(b, dtype=tf.int64))


def host_positions(*, local_batch: int, process_index: int, process_count: int,
                   start_step: int = 0) -> tf.data.Dataset:
  """`host_step_positions` one position at a time."""
  return host_step_positions(local_batch=local_batch, process_index=process_index,
                             process_count=process_count, start_step=start_step).unbatch()


def step_indices(step: int, *, num_examples: int, seed: int, global_batch: int,
                 process_index: int = 0, process_count: int = 1) -> np.ndarray:
  """Example indices a host reads for global step `step` (0-based), eagerly, in numpy."""
  b = host_batch(global_batch, process_count)
  first = step * global_batch + process_index * b
  return np.array([int(permuted(p, num_examples=num_examples, seed=seed))
                   for p in range(first, first + b)], np.int64)


def eval_slice(num_examples: int, *, local_batch: int, process_index: int,
               process_count: int) -> tuple[int, int, int]:
  """(first, stop, batches): this host's examples first..stop-1 and its batch count."""
  per_host = math.ceil(num_examples / process_count)
  first = min(process_index * per_host, num_examples)
  stop = min(first + per_host, num_examples)
  return first, stop, math.ceil(per_host / local_batch)
