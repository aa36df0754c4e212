"""Device mesh, shardings, multi-host initialisation, host -> global arrays."""

from jaxvision.parallel.mesh import (batch_sharding, global_batch, make_mesh,
                                     replicated_sharding)
from jaxvision.parallel.prefetch import prefetch_to_mesh

__all__ = ["batch_sharding", "global_batch", "make_mesh", "prefetch_to_mesh",
           "replicated_sharding"]
