"""Freed step buffers stay in the process (jaxvision/host_memory.py), counted from outside:
the kernel's minor page-fault counter of a fresh process running one train step many times.
"""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt")

# LeNet-5's train step at batch 128 as `jaxvision bench` builds it (benchmarks/cpu_conv.py):
# prints the minor page faults per step after warm-up.
_STEP = """
import resource, sys
if sys.argv[1] == "keep":
  from jaxvision import host_memory
  assert host_memory.keep_freed_memory()
import jax, numpy as np
from jaxvision import models, objectives
from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
from jaxvision.train.optim import OptimizerSettings, make_optimizer
from jaxvision.train.state import create_state
from jaxvision.train.step import compile_train_step
rng = np.random.default_rng(0)
model, mesh = models.get_model("lenet5", num_classes=10), make_mesh()
tx, schedule = make_optimizer(OptimizerSettings(schedule="constant"), 10**6)
state = jax.jit(lambda r: create_state(model, tx, r, (32, 32, 1)),
                out_shardings=replicated_sharding(mesh))(jax.random.key(0))
step = compile_train_step(mesh, loss_fn=objectives.Supervised(model=model).loss_fn, tx=tx,
                          schedule=schedule, base_rng=jax.random.key(1))
batch = global_batch({"image": rng.standard_normal((128, 32, 32, 1), np.float32),
                      "label": rng.integers(0, 10, 128).astype(np.int32)}, mesh)
def run():
  global state
  state, metrics = step(state, batch)
  jax.block_until_ready((state, metrics))
for _ in range(3):
  run()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
  run()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def _faults_per_step(mode: str) -> float:
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)  # one device
  proc = subprocess.run([sys.executable, "-c", _STEP, mode], env=env, capture_output=True,
                        text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return float(proc.stdout.strip().splitlines()[-1])


def test_freed_step_buffers_are_not_faulted_back_in():
  default = _faults_per_step("default")
  kept = _faults_per_step("keep")
  # Measured here: about 6,000 faults a step under glibc's defaults (the step's buffers
  # mapped afresh), a few hundred or none kept (BUILD_NOTES.md, session 14).
  assert default > 1000, default
  assert kept < default / 4, (kept, default)


# A worker thread allocating, touching and freeing a 96 MiB block, as XLA's threads do with a
# step's buffers: prints the minor page faults per round after the first. "two" sets only
# M_MMAP_MAX 0 and M_TRIM_THRESHOLD -1 (session 14's settings), "keep" host_memory's.
_THREAD = """
import ctypes, resource, sys, threading
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "keep":
  from jaxvision import host_memory
  assert host_memory.keep_freed_memory()
else:
  assert libc.mallopt(-4, 0) and libc.mallopt(-1, -1)
SIZE, ROUNDS = 96 << 20, 6
faults = []
def work():
  for _ in range(ROUNDS):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(SIZE)
    ctypes.memset(p, 1, SIZE)
    libc.free(p)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
t = threading.Thread(target=work)
t.start(); t.join()
print(sum(faults[1:]) / (ROUNDS - 1))
"""


def _thread_faults_per_round(mode: str) -> float:
  proc = subprocess.run([sys.executable, "-c", _THREAD, mode], capture_output=True, text=True,
                        timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return float(proc.stdout.strip().splitlines()[-1])


def test_a_threads_large_freed_block_is_not_faulted_back_in():
  # In a thread's own arena glibc maps a block over 64 MiB afresh each time, whatever
  # M_MMAP_MAX says: every page faults again (measured: 24,577 a round, the block's 24,576
  # pages of 4 KiB; fewer where transparent huge pages back it). With one arena the block
  # is reused (measured: 0).
  two = _thread_faults_per_round("two")
  keep = _thread_faults_per_round("keep")
  assert two >= 48, two  # 96 MiB is at least 48 pages of 2 MiB
  assert keep < two / 20, (keep, two)
