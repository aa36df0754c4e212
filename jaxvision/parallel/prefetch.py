"""Device prefetch: the next batches are already on the devices while the current step runs.

`prefetch_to_mesh` wraps a host iterator of numpy batches (this host's rows) and keeps
`depth` global batches, sharded over the mesh like `global_batch` does, queued ahead of the
one handed out, as flax's `prefetch_to_device` does for pmap. The transfer of a queued batch
is issued when it is queued (JAX's transfers are asynchronous), so it overlaps the steps that
run before it is used rather than delaying the step that uses it.

`limit` stops the pulls at the number of batches the run will use: a training loop of N
steps never reads (and never decodes, or fails on a bad file in) batches beyond its last.
"""

import collections

from jaxvision.parallel.mesh import global_batch


class DevicePrefetcher:
  """An iterator of global batches, `depth` of them on the devices ahead of the consumer."""

  def __init__(self, host_batches, mesh, *, depth: int = 2, limit: int | None = None):
    if depth < 0:
      raise ValueError(f"prefetch depth must be >= 0, got {depth}")
    self._host = iter(host_batches)
    self._mesh = mesh
    self._depth = depth
    self._left = limit  # host batches still to pull; None: until the host iterator ends
    self._queue = collections.deque()
    self._done = False

  def _pull(self) -> bool:
    if self._done or self._left == 0:
      return False
    try:
      batch = next(self._host)
    except StopIteration:
      self._done = True
      return False
    if self._left is not None:
      self._left -= 1
    self._queue.append(global_batch(batch, self._mesh))
    return True

  def __iter__(self):
    return self

  def __next__(self):
    # The one handed out plus `depth` behind it: refill before returning, so while the
    # caller's step runs the next `depth` batches are already transferred (or in flight).
    while len(self._queue) < self._depth + 1 and self._pull():
      pass
    if not self._queue:
      raise StopIteration
    return self._queue.popleft()


def prefetch_to_mesh(host_batches, mesh, *, depth: int = 2, limit: int | None = None):
  """Global batches from host batches, `depth` ahead on the devices (see DevicePrefetcher)."""
  return DevicePrefetcher(host_batches, mesh, depth=depth, limit=limit)
