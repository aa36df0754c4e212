"""Indices -> read -> decode+crop -> view -> batch -> prefetch; host-local numpy batches out.

Training: the host's positions of the global order (jaxvision/data/order.py) are mapped to
example indices, and only those examples are read and decoded, here. Augmentation is seeded
by (seed, global position), so a host's rows are the same whatever the host count, and a run
started at step s reads nothing before s (no replay, no shuffle buffer).

Evaluation covers the whole split exactly once: host h reads its contiguous slice and pads
it with masked rows (mask 0) so all hosts run the same number of batches.

Bad images: with `source.bad_images == 'error'` a file that does not decode stops the run
with one line naming it; with 'skip' it is replaced by the next readable example of the
source (index + 1, + 2, ... at most SKIP_CANDIDATES), at the same position and with the
same augmentation seed, so the order stays a function of (seed, step). An evaluation row
replaced that way is masked out.
"""

from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from jaxvision.data import decode, order
from jaxvision.data.sources import Source

ViewFn = Callable[[dict, tf.Tensor], dict]
# Batches read ahead of the consumer: bounded, so a host decodes at most this many batches
# (plus the parallel map's elements in flight) beyond what its steps use.
PREFETCH_BATCHES = 2
SKIP_CANDIDATES = 8
DECODE_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.NotFoundError,
                 tf.errors.DataLossError)


def _example_seed(seed: int, position):
  return tf.stack([tf.cast(seed, tf.int64), tf.cast(position, tf.int64)])


def _viewed(source: Source, split: str, view: ViewFn, seed: int):
  """(index, position) -> the view of that example, seeded by its position."""
  reader = source.reader(split)

  def fn(index, position):
    example_seed = _example_seed(seed, position)
    example = decode.prepare(reader.read(index), view, example_seed, reader.channels)
    return view(example, example_seed)

  return fn


def _map(ds, fn, source: Source, num_examples: int, *, masked: bool = False):
  """ds of (index, position[, mask]) -> views; with bad_images=skip a failed read falls
  through to the next index (in `masked` evaluation rows, with mask 0)."""
  if source.bad_images != "skip":
    if not masked:
      return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.map(lambda i, p, m: dict(fn(i, p), mask=m), num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=True)

  def candidates(index, position, mask=None):
    def attempt(j):
      out = fn((index + j) % num_examples, position)
      if mask is not None:
        out = dict(out, mask=tf.where(j == 0, mask, tf.constant(0, tf.int32)))
      return out

    return tf.data.Dataset.range(SKIP_CANDIDATES).map(attempt).ignore_errors().take(1)

  return ds.interleave(candidates, cycle_length=16, block_length=1,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _numpy_batches(ds, reader, batch_indices: Callable[[int], np.ndarray]) -> Iterator[dict]:
  """Batches as numpy; a decode failure becomes one line naming the file of batch k."""
  iterator = ds.as_numpy_iterator()
  k = 0
  while True:
    try:
      batch = next(iterator)
    except StopIteration:
      return
    except DECODE_ERRORS:
      bad = decode.find_bad_example(reader, batch_indices(k))
      if bad is None:
        raise
      raise decode.bad_image_error(bad) from None
    k += 1
    yield batch


def _read_and_view(reader, view: ViewFn, indices):
  """Examples `indices` read with one gather and viewed by one vectorised call: for
  in-memory images and a view without randomness or resizing (`_batches_whole`), where the
  per-example map of `_viewed` costs more than a small model's step (LeNet: the stream ate a
  third of the loop's time on 2 cores, BUILD_NOTES session 13). Equal to the per-example
  path; the seed is read by no op of such a view (tests/test_whole_batches.py)."""
  unused_seed = _example_seed(0, 0)
  return tf.vectorized_map(lambda e: view(e, unused_seed), reader.read(indices))


def _batches_whole(source: Source, view: ViewFn, split: str, local_batch: int) -> bool:
  """Whether a batch can be read and viewed whole (`_read_and_view`)."""
  reader = source.reader(split)
  return (getattr(view, "batchable", False) and getattr(reader, "in_memory_images", False)
          and source.bad_images != "skip" and local_batch <= source.num_examples[split])


def train_batches(source: Source, view: ViewFn, *, split: str = "train", local_batch: int,
                  seed: int, start_step: int = 0, process_index: int = 0,
                  process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
  """Endless host-local training batches of global steps start_step, start_step + 1, ..."""
  n = source.num_examples[split]
  global_batch = local_batch * process_count
  if _batches_whole(source, view, split, local_batch):
    ds = order.host_step_positions(local_batch=local_batch, process_index=process_index,
                                   process_count=process_count, start_step=start_step)
    reader = source.reader(split)
    ds = ds.map(lambda p: _read_and_view(reader, view,
                                         order.permuted_batch(p, num_examples=n, seed=seed)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  else:
    positions = order.host_positions(local_batch=local_batch, process_index=process_index,
                                     process_count=process_count, start_step=start_step)
    ds = positions.map(lambda p: (order.permuted(p, num_examples=n, seed=seed), p))
    ds = _map(ds, _viewed(source, split, view, seed), source, n)
    ds = ds.batch(local_batch, drop_remainder=True)
  ds = ds.prefetch(PREFETCH_BATCHES)

  def batch_indices(k):
    return order.step_indices(start_step + k, num_examples=n, seed=seed,
                              global_batch=global_batch, process_index=process_index,
                              process_count=process_count)

  return _numpy_batches(ds, source.reader(split), batch_indices)


def num_eval_batches(num_examples: int, local_batch: int, process_count: int) -> int:
  return order.eval_slice(num_examples, local_batch=local_batch, process_index=0,
                          process_count=process_count)[2]


class EvalBatches:
  """Every example of `split` once, in order, with 'mask' 1 for real examples, 0 for padding;
  iterable again and again. The tf.data pipeline is built once: building it traces its map
  (about 0.4 s for the whole-batch view on 2 cores, which the per-epoch evaluation of a small
  model paid every time; BUILD_NOTES.md, session 17). It has no randomness, so every pass
  yields the same batches."""

  def __init__(self, source: Source, view: ViewFn, *, split: str, local_batch: int,
               process_index: int = 0, process_count: int = 1,
               max_examples: int | None = None):
    total = source.num_examples[split]
    if max_examples:
      total = min(total, max_examples)
    first, stop, batches = order.eval_slice(total, local_batch=local_batch,
                                            process_index=process_index,
                                            process_count=process_count)
    rows = batches * local_batch
    # Padding rows re-read example `first` (or 0) and are masked out.
    indices = np.full(rows, first if first < total else 0, np.int64)
    indices[:stop - first] = np.arange(first, stop)
    mask = (np.arange(rows) < stop - first).astype(np.int32)
    reader = source.reader(split)
    if _batches_whole(source, view, split, 1):  # fixed indices: any batch size reads whole
      ds = tf.data.Dataset.from_tensor_slices((indices, mask)).batch(local_batch)
      ds = ds.map(lambda i, m: dict(_read_and_view(reader, view, i), mask=m),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
      ds = tf.data.Dataset.from_tensor_slices((indices, np.zeros(rows, np.int64), mask))
      ds = _map(ds, _viewed(source, split, view, 0), source, source.num_examples[split],
                masked=True)
      ds = ds.batch(local_batch, drop_remainder=True)
    ds = ds.prefetch(PREFETCH_BATCHES)
    self._ds, self._reader = ds, reader
    self._batch_indices = lambda k: indices[k * local_batch:(k + 1) * local_batch]

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    return _numpy_batches(self._ds, self._reader, self._batch_indices)


def eval_batches(source: Source, view: ViewFn, *, split: str, local_batch: int,
                 process_index: int = 0, process_count: int = 1,
                 max_examples: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Every example of `split` once, in order, with 'mask' 1 for real examples, 0 for padding."""
  return iter(EvalBatches(source, view, split=split, local_batch=local_batch,
                          process_index=process_index, process_count=process_count,
                          max_examples=max_examples))
