"""What the per-step preemption agreement cost: 2 processes x 4 CPU devices on loopback.

Times the call the train loop made after every step before session 10 (a process_allgather of
one int32 flag) against a jitted data-parallel step of LeNet-5 size on the same mesh, in the
same processes, interleaved. Prints one table row per process.

  python benchmarks/preemption_sync_cost.py
"""

import os
import socket
import subprocess
import sys

CHILD = r"""
import sys, time
import jax, numpy as np
jax.config.update("jax_num_cpu_devices", 4)
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2,
                           process_id=int(sys.argv[2]))
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
mesh = Mesh(np.asarray(jax.devices()), ("data",))
w = jax.device_put(np.zeros((1024, 64), np.float32), NamedSharding(mesh, P()))
x = jax.make_array_from_process_local_data(NamedSharding(mesh, P("data")),
                                           np.ones((16, 1024), np.float32))
step = jax.jit(lambda w, x: w - 1e-3 * jax.grad(lambda w: ((x @ w) ** 2).mean())(w))
w = step(w, x).block_until_ready()
multihost_utils.process_allgather(np.int32(0))
sync, compute = [], []
for _ in range(200):
  t = time.perf_counter(); w = step(w, x).block_until_ready(); compute.append(time.perf_counter() - t)
  t = time.perf_counter(); multihost_utils.process_allgather(np.int32(0)); sync.append(time.perf_counter() - t)
print(f"process {sys.argv[2]}: step {1e3 * np.median(compute):.3f} ms, "
      f"allgather {1e3 * np.median(sync):.3f} ms (median of 200), "
      f"ratio {np.median(sync) / np.median(compute):.2f}", flush=True)
"""


def main():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  procs = [subprocess.Popen([sys.executable, "-c", CHILD, f"127.0.0.1:{port}", str(i)],
                            env=env, stdout=subprocess.PIPE, text=True) for i in range(2)]
  for p in procs:
    out, _ = p.communicate(timeout=300)
    print(out.strip())


if __name__ == "__main__":
  main()
