"""What the `jaxvision` executable sets before JAX starts, for every arm a benchmark times, so
ratios to bare loops and to PyTorch measure code, not process settings: XLA's Eigen
convolutions on the CPU (jaxvision/xla_cpu_flags.py) and freed step buffers kept in the
process (jaxvision/host_memory.py)."""

from jaxvision import host_memory, xla_cpu_flags


def like_the_jaxvision_command() -> None:
  """Call before JAX's CPU backend starts (before the first computation or device query)."""
  xla_cpu_flags.use_eigen_convolutions()
  host_memory.keep_freed_memory()
