"""One 'data' mesh axis over every device of every host.

The batch is sharded on 'data', parameters are replicated. Under `jax.jit` the train step then
runs data-parallel with XLA inserting the gradient all-reduce; batch norm statistics computed
over the batch axis are statistics of the global batch.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def global_batch(local_batch: dict, mesh: Mesh) -> dict:
  """Host-local numpy arrays -> global jax.Arrays sharded over the batch axis."""
  sharding = batch_sharding(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)
