"""The `jaxvision` command: train, eval, models, report, compare.

  jaxvision train --config configs/NAME.py --workdir DIR [--config.KEY=VALUE ...]
  jaxvision eval  --config configs/NAME.py --workdir DIR
  jaxvision models [--json]
  jaxvision report WORKDIR [--out DIR]
  jaxvision compare WORKDIR WORKDIR... [--out DIR]

User mistakes print one line, `jaxvision: error: ...`, and exit with status 2.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from jaxvision import paths  # noqa: E402
from jaxvision.errors import Stopped, UserError  # noqa: E402

# Before any storage client is imported: an emulator (STORAGE_EMULATOR_HOST) reaches all.
paths.configure_object_storage()


class _Parser(argparse.ArgumentParser):
  """argparse, but a usage mistake is one line like every other user error."""

  def error(self, message):
    raise UserError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="jaxvision", description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
  for name, help_text in (("train", "train (resuming from the workdir's latest checkpoint)"),
                          ("eval", "evaluate the workdir's latest checkpoint on the test split")):
    p = sub.add_parser(name, help=help_text,
                       epilog="Override any config value with --config.KEY=VALUE.")
    p.add_argument("--config", required=True, help="configs/NAME.py[:ARG]")
    p.add_argument("--workdir", required=True, help="folder for checkpoints and metrics")
    p.add_argument("--cpu-devices", type=int, default=0,
                   help="simulate N devices on the CPU (testing data parallelism)")
    p.add_argument("--coordinator_address", default=None, help="multi-host: HOST:PORT")
    p.add_argument("--num_processes", type=int, default=None)
    p.add_argument("--process_id", type=int, default=None)
    if name == "eval":
      # The names of evaluate/protocols.py's MODES, spelled out: importing it would load JAX
      # before --cpu-devices can set the device count (tests/test_cli_modes.py keeps them equal).
      p.add_argument("--mode", default="center",
                     choices=("center", "ten_crop", "dense", "multi_scale", "multi_crop",
                              "dense+multi_crop"),
                     help="center crop, 10-crop averaging, dense (FC as conv), or VGG's "
                     "multi-scale, 150-crop and dense+multi-crop protocols")
  p = sub.add_parser("report", help="PNG curves, confusion matrix and a Markdown summary")
  p.add_argument("workdir")
  p.add_argument("--out", default=None, help="folder for the report (default WORKDIR/report)")
  p.add_argument("--cpu-devices", type=int, default=0, help=argparse.SUPPRESS)
  p = sub.add_parser("compare", help="overlay the curves of several runs")
  p.add_argument("workdirs", nargs="+")
  p.add_argument("--out", default="comparison", help="folder for compare.png and compare.md")
  p = sub.add_parser("import-weights", help="convert torchvision/timm weights to a workdir")
  p.add_argument("--format", required=True, choices=("torchvision", "timm"))
  p.add_argument("--model", required=True)
  p.add_argument("--src", required=True, help=".safetensors, .npz, or .pth (needs torch)")
  p.add_argument("--out", required=True, help="new folder for the Orbax checkpoint")
  p = sub.add_parser("models", help="list the models with parameters and GFLOPs")
  p.add_argument("--json", action="store_true", help="print a JSON list")
  from jaxvision import bench  # light: imports jax only when it runs
  from jaxvision.zero_shot_cli import add_zero_shot_parser

  bench.add_bench_parser(sub)
  add_zero_shot_parser(sub)
  return parser


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


def _start_jax(args, config) -> None:
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


def _load_config(args, overrides):
  from jaxvision.config_loading import apply_overrides, load_config_file

  config = load_config_file(args.config)
  apply_overrides(config, overrides)
  return config


def _print_metrics(title: str, metrics: dict) -> None:
  import jax

  if jax.process_index() != 0:
    return
  shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in metrics.items())
  print(f"{title}: {shown}", flush=True)


def _models(as_json: bool) -> None:
  from jaxvision import models

  try:
    from jaxvision.inspect_models import describe_models
  except ImportError:  # the zoo's summary module has not landed in this checkout
    rows = [{"name": n, "input_shape": list(models.default_input_shape(n))}
            for n in models.list_models()]
  else:
    rows = describe_models()
  if as_json:
    print(json.dumps(rows, indent=1))
    return
  for row in rows:
    params = f"{row['params']:>13,}" if "params" in row else ""
    gflops = f"{row['gflops']:>9.3f}" if "gflops" in row else ""
    print(f"{row['name']:<16}{params}  {gflops}  {tuple(row['input_shape'])}")


def _check_distributed_flags(args) -> None:
  given = [args.coordinator_address, args.num_processes, args.process_id]
  if any(v is not None for v in given) and not all(v is not None for v in given):
    raise UserError("--coordinator_address, --num_processes and --process_id go together; "
                    "give all three, or none on TPU VMs and under SLURM")
  if args.cpu_devices < 0:
    raise UserError(f"--cpu-devices must be >= 0, got {args.cpu_devices}")


def main(argv=None) -> int:
  try:
    args, rest = _parser().parse_known_args(argv)
    if rest and args.command not in ("train", "eval"):
      raise UserError(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "models":
      _models(args.json)
      return 0
    if args.command == "bench":
      from jaxvision import bench

      return bench.run_bench_command(args)
    if args.command == "zero-shot":
      from jaxvision.zero_shot_cli import run_zero_shot

      run_zero_shot(args)
      return 0
    if args.command == "import-weights":
      from jaxvision import weights

      print(weights.import_weights_command(args.format, args.model, args.src, args.out))
      return 0
    if args.command in ("report", "compare"):
      from jaxvision.reporting import report

      if args.command == "compare":
        print(f"wrote {report.write_comparison(args.workdirs, args.out)}")
      else:
        print(f"wrote {report.write_report(args.workdir, args.out)}")
      return 0
    _check_distributed_flags(args)
    config = _load_config(args, rest)
    _start_jax(args, config)
    from jaxvision.train import loop

    if args.command == "train" and config.objective == "trinet":
      # Tri-Net alternates tri-training rounds (pseudo-labelling between runs of the loop).
      from jaxvision.train import trinet_rounds

      _print_metrics("final test", trinet_rounds.run_rounds(config, args.workdir))
    elif args.command == "train":
      _print_metrics("final test", loop.train_and_evaluate(config, args.workdir))
    else:
      _print_metrics(f"test ({args.mode})",
                     loop.evaluate_workdir(config, args.workdir, mode=args.mode))
    return 0
  except UserError as e:
    print(f"jaxvision: error: {e}", file=sys.stderr)
    return 2
  except Stopped as e:
    print(f"jaxvision: {e}", file=sys.stderr)
    return e.exit_code
  except KeyboardInterrupt:
    print("jaxvision: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
  sys.exit(main())
