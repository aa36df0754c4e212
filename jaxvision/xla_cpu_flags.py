"""Which engine runs convolutions on XLA's CPU backend, and the flag jaxvision starts JAX with.

Why: jaxlib 0.10 hands every convolution to YNNPACK (a "__ynn_fusion" in the compiled HLO),
which here ran on one core of two (process CPU time / wall 1.05), where XLA's own Eigen
convolutions use both: a 3x3 conv on 56x56x64 maps, forward and both gradients, took 445 ms
under YNNPACK and 137 ms under Eigen (BUILD_NOTES.md, session 14). `jaxvision` therefore
starts JAX with

  --xla_cpu_experimental_ynn_fusion_type=-individual_convolution

(YNNPACK stays on for the dots and elementwise fusions, where it was not slower), unless
$XLA_FLAGS already sets that flag (the user's choice wins) or the installed jaxlib does not
know it: XLA aborts the process on an unknown flag, and the flag is experimental, so its
presence is read from jaxlib's own binary rather than assumed from a version number.

This module imports nothing from JAX: the flag must be in the environment before the CPU
backend starts (the first computation or device query), which is why the CLI and the
benchmarks call `use_eigen_convolutions()` first thing.
"""

import functools
import glob
import importlib.util
import mmap
import os

YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
EIGEN_CONVOLUTIONS = f"{YNN_FUSION_FLAG}=-individual_convolution"


@functools.lru_cache(maxsize=None)
def jaxlib_knows(flag: str) -> bool:
  """True if an installed jaxlib shared library contains the flag's name (10 ms, warm)."""
  spec = importlib.util.find_spec("jaxlib")
  if spec is None or not spec.submodule_search_locations:
    return False
  name = flag.lstrip("-").encode()
  for folder in spec.submodule_search_locations:
    for path in sorted(glob.glob(os.path.join(folder, "*.so")), key=os.path.getsize,
                       reverse=True):
      with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if m.find(name) >= 0:
          return True
  return False


def _value(xla_flags: str, flag: str):
  """The last value `flag` is given in an XLA_FLAGS string, or None if it is not there."""
  value = None
  for item in xla_flags.split():
    if item.split("=", 1)[0] == flag:
      value = item.split("=", 1)[1] if "=" in item else ""
  return value


def with_eigen_convolutions(xla_flags: str) -> str:
  """`xla_flags` plus EIGEN_CONVOLUTIONS, unless it sets the YNN flag or jaxlib lacks it."""
  if _value(xla_flags, YNN_FUSION_FLAG) is not None or not jaxlib_knows(YNN_FUSION_FLAG):
    return xla_flags
  return " ".join(xla_flags.split() + [EIGEN_CONVOLUTIONS])


def use_eigen_convolutions() -> None:
  """Puts EIGEN_CONVOLUTIONS into $XLA_FLAGS (see the module docstring for when not)."""
  os.environ["XLA_FLAGS"] = with_eigen_convolutions(os.environ.get("XLA_FLAGS", ""))
