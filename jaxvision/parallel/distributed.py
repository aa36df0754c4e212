"""jax.distributed start-up: explicit flags, else the cluster JAX itself detects.

JAX knows how to find its peers on Cloud TPU VMs (the GCE metadata service), GKE TPU pods
(TPU_WORKER_HOSTNAMES / TPU_PROCESS_ADDRESSES), SLURM (SLURM_* of a job step), Open MPI and
Kubernetes: `jax._src.clusters` holds one ClusterEnv per platform. We ask the same classes, in
the same order `jax.distributed.initialize()` does, instead of keeping our own environment
rules (which missed TPU VMs: they set no variable, JAX reads their metadata service).
"""

import sys

import jax


def detect_cluster():
  """The ClusterEnv class JAX would use here, or None (a laptop, a one-GPU box)."""
  from jax._src import clusters

  for env in clusters.ClusterEnv._cluster_types:
    if env.opt_in_only_method:  # e.g. mpi4py: used only when asked for by name
      continue
    try:
      if env.is_env_present():
        return env
    except Exception:  # a probe that cannot run here (missing module, no metadata server)
      continue
  return None


def describe_cluster(env) -> dict:
  """Name, process count and this process's id, as JAX computes them for `env`."""
  return {"cluster": env.name or env.__name__, "num_processes": int(env.get_process_count()),
          "process_id": int(env.get_process_id())}


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, heartbeat_timeout_secs: int = 100) -> dict | None:
  """Starts the multi-host runtime when asked to, or when JAX detects a multi-process cluster.

  Returns what was started (None for a single process). A cluster of one process (a one-host
  TPU VM, a one-task SLURM job) starts nothing: JAX would, under SLURM, also restrict the
  process to one local GPU.
  """
  if coordinator_address:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id,
                               heartbeat_timeout_seconds=heartbeat_timeout_secs)
    return {"cluster": "explicit flags", "num_processes": num_processes,
            "process_id": process_id}
  env = detect_cluster()
  if env is None:
    return None
  found = describe_cluster(env)
  if found["num_processes"] <= 1:
    return None
  if found["process_id"] == 0:
    print(f"jaxvision: {found['cluster']} cluster detected: {found['num_processes']} "
          "processes; starting jax.distributed", file=sys.stderr, flush=True)
  jax.distributed.initialize(heartbeat_timeout_seconds=heartbeat_timeout_secs)
  return found
