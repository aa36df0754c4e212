"""Test setup: 8 simulated CPU devices, set before JAX starts so sharding is really exercised."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# The tests name configs, benchmarks and launch scripts by their paths in the repository
# ("configs/lenet5_digits.py"): run from the repository root wherever pytest was started.
os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
