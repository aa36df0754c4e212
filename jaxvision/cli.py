"""The `jaxvision` command: train, eval, models, bench, report, compare, zero-shot and
import-weights; each lives in jaxvision/commands/, this file only wires them.

  jaxvision train --config configs/NAME.py --workdir DIR [--config.KEY=VALUE ...]
  jaxvision eval  --config configs/NAME.py --workdir DIR [--mode MODE]
  jaxvision models [--json]
  jaxvision bench --model NAME [--batch-size N --image-size S --dtype D --json]
  jaxvision report WORKDIR [--out DIR]
  jaxvision compare WORKDIR WORKDIR... [--out DIR]
  jaxvision zero-shot --workdir DIR [--data NAME]
  jaxvision import-weights --format F --model NAME --src FILE --out DIR

User mistakes print one line, `jaxvision: error: ...`, and exit with status 2.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from jaxvision import host_memory, xla_cpu_flags  # noqa: E402

# Before JAX's CPU backend starts: XLA's Eigen convolutions, not YNNPACK's
# (jaxvision/xla_cpu_flags.py says why and when not).
xla_cpu_flags.use_eigen_convolutions()

from jaxvision import __version__, paths  # noqa: E402
from jaxvision.commands import (bench, compare, import_weights, models, report,  # noqa: E402
                                train, zero_shot)
from jaxvision.commands import eval as eval_  # noqa: E402
from jaxvision.commands.runtime import with_simulated_device_flags  # noqa: E402,F401
from jaxvision.errors import Stopped, UserError  # noqa: E402

# Before any storage client is imported: an emulator (STORAGE_EMULATOR_HOST) reaches all.
paths.configure_object_storage()

# Commands that take --config.KEY=VALUE overrides (argparse leaves those unparsed).
_TAKE_OVERRIDES = ("train", "eval")


class _Parser(argparse.ArgumentParser):
  """argparse, but a usage mistake is one line like every other user error."""

  def error(self, message):
    raise UserError(f"{message} (see '{self.prog} --help')")


# Name -> module with add_parser(subparsers) and run(args, rest), in --help order.
COMMANDS = {"train": train, "eval": eval_, "models": models, "bench": bench, "report": report,
            "compare": compare, "zero-shot": zero_shot, "import-weights": import_weights}


def _parser() -> argparse.ArgumentParser:
  doc = __doc__.split("\n\n")[0].replace("\n", " ")
  parser = _Parser(prog="jaxvision", description=doc,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--version", action="version", version=f"jaxvision {__version__}")
  sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
  for module in COMMANDS.values():
    module.add_parser(sub)
  return parser


def main(argv=None) -> int:
  try:
    args, rest = _parser().parse_known_args(argv)
    if rest and args.command not in _TAKE_OVERRIDES:
      raise UserError(f"unrecognised arguments: {' '.join(rest)}")
    return COMMANDS[args.command].run(args, rest)
  except UserError as e:
    print(f"jaxvision: error: {e}", file=sys.stderr)
    return 2
  except Stopped as e:
    print(f"jaxvision: {e}", file=sys.stderr)
    return e.exit_code
  except KeyboardInterrupt:
    print("jaxvision: interrupted", file=sys.stderr)
    return 130


def command() -> int:
  """The `jaxvision` executable (and `python -m jaxvision.cli`): main() in a process of its
  own, whose freed step buffers stay in the process (jaxvision/host_memory.py). Tests call
  main() inside pytest's long-lived process, which keeps glibc's defaults."""
  host_memory.keep_freed_memory()
  return main()


if __name__ == "__main__":
  sys.exit(command())
