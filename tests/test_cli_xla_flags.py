"""--cpu-devices N > 1 lengthens XLA:CPU's collective timeouts, keeping the user's own flags."""

import os
import subprocess
import sys

from jaxvision.cli import with_simulated_device_flags


def test_adds_both_timeouts_to_empty_flags():
  assert with_simulated_device_flags("").split() == [
      "--xla_cpu_collective_timeout_seconds=600",
      "--xla_cpu_collective_call_terminate_timeout_seconds=600"]


def test_keeps_the_users_value_and_other_flags():
  given = "--xla_force_host_platform_device_count=2 --xla_cpu_collective_timeout_seconds=5"
  flags = with_simulated_device_flags(given).split()
  assert flags[:2] == given.split()
  assert "--xla_cpu_collective_timeout_seconds=600" not in flags
  assert "--xla_cpu_collective_call_terminate_timeout_seconds=600" in flags


def test_this_jaxlib_accepts_the_flags():
  # XLA aborts the process on a flag it does not know, so a jax upgrade that renames them
  # would break every --cpu-devices run: run a collective on 2 CPU devices with them set.
  code = ("import jax, jax.numpy as jnp\n"
          "jax.config.update('jax_num_cpu_devices', 2)\n"
          "x = jax.device_put(jnp.arange(2.0), jax.sharding.NamedSharding(\n"
          "    jax.make_mesh((2,), ('d',)), jax.sharding.PartitionSpec('d')))\n"
          "print(float(jax.jit(jnp.sum)(x)))\n")
  env = dict(os.environ, XLA_FLAGS=with_simulated_device_flags(""), JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                        timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.strip() == "1.0"
