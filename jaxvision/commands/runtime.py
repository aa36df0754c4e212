"""What `train` and `eval` share: their flags, the config they load, and JAX's start.

JAX is imported only in `start_jax`, after --cpu-devices has been read.
"""

import os

from jaxvision.errors import UserError


def add_run_arguments(p) -> None:
  """--config, --workdir, --cpu-devices and the multi-host flags.

  The multi-host flags are spelt like the rest (--coordinator-address); jax.distributed's
  own names (--coordinator_address, ...), which launch scripts already use, stay aliases.
  """
  p.add_argument("--config", required=True, help="configs/NAME.py[:ARG]")
  p.add_argument("--workdir", required=True, help="folder for checkpoints and metrics")
  p.add_argument("--cpu-devices", type=int, default=0,
                 help="simulate N devices on the CPU (testing data parallelism)")
  p.add_argument("--coordinator-address", "--coordinator_address", dest="coordinator_address",
                 default=None, help="multi-host: HOST:PORT")
  p.add_argument("--num-processes", "--num_processes", dest="num_processes", type=int,
                 default=None)
  p.add_argument("--process-id", "--process_id", dest="process_id", type=int, default=None)


def check_run_arguments(args) -> None:
  given = [args.coordinator_address, args.num_processes, args.process_id]
  if any(v is not None for v in given) and not all(v is not None for v in given):
    raise UserError("--coordinator-address, --num-processes and --process-id go together; "
                    "give all three, or none on TPU VMs and under SLURM")
  if args.cpu_devices < 0:
    raise UserError(f"--cpu-devices must be >= 0, got {args.cpu_devices}")


def load_config(args, overrides):
  from jaxvision.config_loading import apply_overrides, load_config_file

  config = load_config_file(args.config)
  apply_overrides(config, overrides)
  return config


# XLA:CPU aborts the process when one simulated device's thread reaches a collective 40 s
# after the others. It killed two runs with --cpu-devices 4 on 2 cores (one beside two other
# runs, one alone at a checkpoint; BUILD_NOTES session 8), and the resumed run went on: read
# as a starved thread, not a deadlock, so wait much longer (unproven cure; the stall is rare).
SIMULATED_DEVICE_XLA_FLAGS = ("--xla_cpu_collective_timeout_seconds=600",
                              "--xla_cpu_collective_call_terminate_timeout_seconds=600")


def with_simulated_device_flags(xla_flags: str) -> str:
  """$XLA_FLAGS plus the collective timeouts above, keeping any the user set."""
  flags = xla_flags.split()
  for flag in SIMULATED_DEVICE_XLA_FLAGS:
    name = flag.split("=")[0]
    if not any(f.split("=")[0] == name for f in flags):
      flags.append(flag)
  return " ".join(flags)


def start_jax(args, config) -> None:
  import jax

  if args.cpu_devices:
    if args.cpu_devices > 1:  # read when the CPU backend starts, i.e. after this
      os.environ["XLA_FLAGS"] = with_simulated_device_flags(os.environ.get("XLA_FLAGS", ""))
    jax.config.update("jax_num_cpu_devices", args.cpu_devices)
  from jaxvision.parallel import distributed
  from jaxvision.train.watchdog import HEARTBEAT_MARGIN_SECS

  # JAX's heartbeat is the backstop; our progress watchdog (host_timeout_secs) fires first.
  heartbeat = int(config.host_timeout_secs) + HEARTBEAT_MARGIN_SECS
  distributed.initialize(args.coordinator_address, args.num_processes, args.process_id,
                         heartbeat_timeout_secs=heartbeat)


def print_metrics(title: str, metrics: dict) -> None:
  import jax

  if jax.process_index() != 0:
    return
  shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in metrics.items())
  print(f"{title}: {shown}", flush=True)
