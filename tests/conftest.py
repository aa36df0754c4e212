"""Test setup: 8 simulated CPU devices, set before JAX starts so sharding is really exercised."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# The tests name configs, benchmarks and launch scripts by their paths in the repository
# ("configs/lenet5_digits.py"): run from the repository root wherever pytest was started.
os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# JAX's persistent compilation cache for the `jaxvision` processes the tests start (they
# inherit the environment; the pytest workers turn it off for themselves below): most tests
# of training start the command several times on one config (kill, resume, a second host),
# and each start compiled the same programs again, 17 s of a 50 s LeNet-5 run at 8 devices.
# Test time only: the programs are the same ones (the key covers the HLO, devices, jaxlib and
# XLA_FLAGS). One per checkout, so a clean clone starts cold as CI does; the size limit turns
# on the cache's file lock (processes of two pytest workers write at once).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.abspath(os.path.join(".pytest_cache", "jax_compilation_cache")))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(8 << 30))

# The reference implementations load before TensorFlow can: importing torchvision (torch's
# dynamo -> triton, in the CUDA wheels PyPI serves) after TensorFlow segfaults the process
# (torch 2.14.1, triton 3.8.0, tensorflow 2.21.0); the other order is fine.
try:
  import torchvision  # noqa: F401,E402
except ImportError:
  pass

from jaxvision import xla_cpu_flags  # noqa: E402

# The CPU convolution engine `jaxvision` itself starts JAX with, so tests run what users run.
xla_cpu_flags.use_eigen_convolutions()

import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", 8)
# Not in the workers themselves: their thousands of small eager compiles each paid a cache
# write (+1,300 s over the in-process tests of one suite run, BUILD_NOTES.md session 15).
jax.config.update("jax_enable_compilation_cache", False)
