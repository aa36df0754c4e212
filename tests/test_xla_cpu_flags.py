"""The CPU convolution engine `jaxvision` starts JAX with (jaxvision/xla_cpu_flags.py).

What XLA really compiled is read from the outside: the optimised HLO of a jitted convolution
in a fresh process, where XLA's own (Eigen) convolutions are `convolution` instructions of
the entry computation and YNNPACK's are wrapped in "__ynn_fusion" fusions.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxvision import xla_cpu_flags as xf

OFF = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
ON = "--xla_cpu_experimental_ynn_fusion_type=+individual_convolution"

needs_ynn = pytest.mark.skipif(not xf.jaxlib_knows(xf.YNN_FUSION_FLAG),
                               reason="this jaxlib has no YNNPACK fusion flag")

# A 3x3 conv's value and both gradients, in a fresh process under XLA_FLAGS: prints how many
# convolutions the compiled entry computation runs itself (not inside a YNN fusion), then
# the three results as one list.
_PROBE = """
import json, jax, jax.numpy as jnp, numpy as np
from jax import lax
x = jnp.asarray(np.random.RandomState(0).randn(4, 14, 14, 64), jnp.float32)
w = jnp.asarray(np.random.RandomState(1).randn(3, 3, 64, 64) * 0.05, jnp.float32)
def f(x, w):
  y = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return jnp.sum(jnp.sin(y))
g = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
entry = g.lower(x, w).compile().as_text().split("ENTRY")[1].split("\\n}")[0]
print(sum(" convolution(" in line for line in entry.splitlines()))
v, (gx, gw) = g(x, w)
print(json.dumps([float(v), np.asarray(gx).ravel().tolist(), np.asarray(gw).ravel().tolist()]))
"""


def _probe(xla_flags: str):
  env = dict(os.environ, XLA_FLAGS=xla_flags, JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                        text=True, timeout=180)
  assert proc.returncode == 0, proc.stderr[-2000:]
  count, values = proc.stdout.strip().splitlines()[-2:]
  return int(count), json.loads(values)


def test_adds_the_flag_to_empty_and_other_flags():
  if not xf.jaxlib_knows(xf.YNN_FUSION_FLAG):
    assert xf.with_eigen_convolutions("--a=1") == "--a=1"
    return
  assert xf.with_eigen_convolutions("") == OFF
  assert xf.with_eigen_convolutions("--xla_cpu_enable_fast_math=false").split() == [
      "--xla_cpu_enable_fast_math=false", OFF]


@pytest.mark.parametrize("given", [ON, "--xla_cpu_experimental_ynn_fusion_type=",
                                   "--xla_cpu_experimental_ynn_fusion_type=dot"])
def test_the_users_value_wins(given):
  assert xf.with_eigen_convolutions(given) == given


def test_an_unknown_flag_is_never_added(monkeypatch, tmp_path):
  # A jaxlib without the flag (older, or a future one that renamed it): XLA would abort on
  # it, so nothing is added. A fake jaxlib package whose only library lacks the name.
  (tmp_path / "jaxlib").mkdir()
  (tmp_path / "jaxlib" / "__init__.py").write_text("")
  (tmp_path / "jaxlib" / "libfake.so").write_bytes(b"\0xla_cpu_use_thunk_runtime\0" * 100)
  monkeypatch.syspath_prepend(str(tmp_path))
  for name in [m for m in sys.modules if m == "jaxlib"]:
    monkeypatch.delitem(sys.modules, name)
  xf.jaxlib_knows.cache_clear()
  try:
    assert not xf.jaxlib_knows(xf.YNN_FUSION_FLAG)
    assert xf.jaxlib_knows("--xla_cpu_use_thunk_runtime")
    assert xf.with_eigen_convolutions("--a=1") == "--a=1"
  finally:
    xf.jaxlib_knows.cache_clear()


@needs_ynn
def test_the_flag_moves_convolutions_off_ynnpack_and_keeps_their_values():
  ynn_convs, ynn_values = _probe(ON)
  eigen_convs, eigen_values = _probe(OFF)
  # The value and both gradients of the conv: all inside YNN fusions under jaxlib's default,
  # all XLA's own under the flag jaxvision sets (the two gradients are convolutions too).
  assert ynn_convs == 0
  assert eigen_convs >= 2
  for a, b in zip(ynn_values, eigen_values):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


@needs_ynn
def test_the_jaxvision_command_starts_jax_with_the_flag():
  code = ("import os, sys\nsys.argv = ['jaxvision', '--version']\n"
          "import jaxvision.cli\nprint(os.environ['XLA_FLAGS'])\n")
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                        timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split() == [OFF]
