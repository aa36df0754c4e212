"""The global order: epochs are permutations, host slices make the global batch, resume is free.

Expectations are the definition written out in numpy (positions s*B..s*B+B-1, host h's
rows h*b..h*b+b-1), checked on images that carry their own index through the pipeline.
"""

import numpy as np
import pytest

from jaxvision.config_defaults import base_data_config
from jaxvision.data import order, pipeline, sources, views


def numbered_source(n):
  images = np.zeros((n, 4, 4, 1), np.uint8)
  images[:, 0, 0, 0] = np.arange(n) % 256
  images[:, 0, 1, 0] = np.arange(n) // 256
  return sources.array_source("numbered", {"train": (images, np.arange(n) % 3)}, "abc")


def identity_view():
  data = base_data_config()
  data.image_size, data.resize, data.mean, data.std = 4, "none", (0.0,), (1.0 / 255,)
  return views.single_view(data, train=False)


def ids(batch):
  pixels = np.rint(batch["image"]).astype(int)
  return (pixels[:, 0, 0, 0] + 256 * pixels[:, 0, 1, 0]).tolist()


def stream_ids(src, steps, **kw):
  it = pipeline.train_batches(src, identity_view(), seed=kw.pop("seed", 5), **kw)
  return [ids(next(it)) for _ in range(steps)]


def test_every_epoch_is_a_permutation_also_across_batch_boundaries():
  n, batch = 37, 8  # batches straddle epochs
  flat = sum(stream_ids(numbered_source(n), 14, local_batch=batch), [])
  epochs = [flat[i * n:(i + 1) * n] for i in range(len(flat) // n)]
  assert len(epochs) == 3
  for epoch in epochs:
    assert sorted(epoch) == list(range(n))
  assert epochs[0] != epochs[1] != epochs[2]
  assert epochs[0] != list(range(n))  # shuffled


@pytest.mark.parametrize("hosts", [2, 4])
def test_host_slices_concatenate_to_the_one_host_global_batch(hosts):
  src, global_batch, steps = numbered_source(50), 16, 7
  one = stream_ids(src, steps, local_batch=global_batch)
  parts = [stream_ids(src, steps, local_batch=global_batch // hosts, process_index=h,
                      process_count=hosts) for h in range(hosts)]
  for s in range(steps):
    assert sum((p[s] for p in parts), []) == one[s]


def test_resume_at_any_step_gives_the_same_batches_and_another_seed_another_order():
  src = numbered_source(50)
  full = stream_ids(src, 20, local_batch=8)
  for start in (1, 6, 13):
    assert stream_ids(src, 20 - start, local_batch=8, start_step=start) == full[start:]
  assert stream_ids(src, 20, local_batch=8, seed=6) != full
  # step_indices (used to name a bad file) agrees with what the stream read
  assert [list(order.step_indices(s, num_examples=50, seed=5, global_batch=8))
          for s in range(20)] == full


def test_augmentation_is_the_same_whatever_the_host_count():
  src = sources.load_digits_source()
  data = base_data_config()
  data.augment, data.crop_padding = ("random_crop", "flip"), 3
  view = views.single_view(data, train=True)
  one = pipeline.train_batches(src, view, local_batch=16, seed=1, start_step=4)
  two = [pipeline.train_batches(src, view, local_batch=8, seed=1, start_step=4,
                                process_index=h, process_count=2) for h in range(2)]
  for _ in range(2):
    a = next(one)
    b = np.concatenate([next(t)["image"] for t in two])
    np.testing.assert_array_equal(a["image"], b)


def test_eval_slices_are_contiguous_and_cover_once():
  covered = []
  for h in range(3):
    first, stop, batches = order.eval_slice(50, local_batch=8, process_index=h,
                                            process_count=3)
    covered += list(range(first, stop))
    assert batches == 3  # ceil(ceil(50 / 3) / 8) on every host
  assert covered == list(range(50))


class CountingReader:
  """Wraps a reader; counts the reads tf.data actually runs (a side effect in the graph)."""

  def __init__(self, reader):
    import tensorflow as tf
    self.reader, self.count, self.channels = reader, 0, reader.channels
    self._tf = tf

  def __len__(self):
    return len(self.reader)

  def _bump(self, index):
    self.count += 1
    return index

  def read(self, index):
    index = self._tf.numpy_function(self._bump, [index], self._tf.int64, stateful=True)
    return self.reader.read(self._tf.ensure_shape(index, []))


def test_starting_at_a_late_step_reads_only_what_the_next_batches_need():
  src = numbered_source(50)
  counting = CountingReader(src.reader("train"))
  src._readers["train"] = counting
  start = 10 ** 9  # a billion steps in: no replay, the same cost as step 0
  it = pipeline.train_batches(src, identity_view(), local_batch=8, seed=5, start_step=start)
  first = ids(next(it))
  assert first == list(order.step_indices(start, num_examples=50, seed=5, global_batch=8))
  assert 8 <= counting.count <= 8 * (pipeline.PREFETCH_BATCHES + 4)
