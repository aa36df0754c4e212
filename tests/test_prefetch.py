"""Device prefetch: the same global batches in the same order as the plain iterator, sharded
over the mesh, with the host iterator pulled two batches ahead of the consumer."""

import jax
import numpy as np
import pytest

from jaxvision.parallel import batch_sharding, global_batch, make_mesh
from jaxvision.parallel.prefetch import prefetch_to_mesh


class CountingBatches:
  """Host batches 0, 1, 2, ... (each filled with its own number), counting the pulls."""

  def __init__(self, count, rows=16):
    self.pulls = 0
    self.count = count
    self.rows = rows

  def __iter__(self):
    return self

  def __next__(self):
    if self.pulls == self.count:
      raise StopIteration
    n = self.pulls
    self.pulls += 1
    rng = np.random.default_rng(n)
    return {"image": rng.standard_normal((self.rows, 4, 4, 1)).astype(np.float32),
            "label": np.full((self.rows,), n, np.int32)}


def test_same_batches_in_order_two_ahead():
  mesh = make_mesh()
  plain = [global_batch(b, mesh) for b in CountingBatches(7)]
  host = CountingBatches(7)
  prefetched = prefetch_to_mesh(host, mesh, depth=2)
  assert host.pulls == 0  # nothing is read before the first batch is asked for
  got = []
  for taken in range(1, 8):
    batch = next(prefetched)
    got.append(batch)
    # While the step on batch `taken` runs, batches taken+1 and taken+2 are already queued
    # (fewer at the end of the host iterator).
    assert host.pulls == min(taken + 2, 7), (taken, host.pulls)
  with pytest.raises(StopIteration):
    next(prefetched)
  assert len(got) == len(plain)
  for a, b in zip(got, plain):
    assert a["image"].sharding == batch_sharding(mesh) == b["image"].sharding
    for key in a:
      np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))
  assert [int(np.asarray(b["label"])[0]) for b in got] == list(range(7))
  # Each device holds its own rows, as with global_batch.
  shards = got[3]["label"].addressable_shards
  assert len(shards) == jax.device_count() and all(
      np.asarray(s.data).shape == (16 // jax.device_count(),) for s in shards)


def test_limit_stops_the_pulls():
  """A loop of N steps never pulls (decodes, or fails on) a batch beyond its last."""
  host = CountingBatches(100)
  prefetched = prefetch_to_mesh(host, make_mesh(), depth=2, limit=5)
  labels = [int(np.asarray(b["label"])[0]) for b in prefetched]
  assert labels == [0, 1, 2, 3, 4] and host.pulls == 5


def test_depth_zero_is_the_plain_iterator():
  host = CountingBatches(3)
  prefetched = prefetch_to_mesh(host, make_mesh(), depth=0)
  next(prefetched)
  assert host.pulls == 1
