"""jax.distributed initialisation: explicit flags, else automatic where JAX detects a cluster."""

import os

import jax


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, heartbeat_timeout_secs: int = 100) -> None:
  """Starts the multi-host runtime when asked to, or when a cluster environment says so.

  Explicit arguments are the names of `jax.distributed.initialize`. Without them, TPU VMs
  and SLURM jobs with more than one task are detected by JAX itself; a lone process on a
  laptop or a one-GPU box needs nothing.
  """
  if coordinator_address:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id,
                               heartbeat_timeout_seconds=heartbeat_timeout_secs)
  elif int(os.environ.get("SLURM_NTASKS", "1")) > 1 or "TPU_WORKER_HOSTNAMES" in os.environ:
    jax.distributed.initialize(heartbeat_timeout_seconds=heartbeat_timeout_secs)
