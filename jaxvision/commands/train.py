"""`jaxvision train --config configs/NAME.py --workdir DIR [--config.KEY=VALUE ...]`."""

from jaxvision.commands import runtime

HELP = "train (resuming from the workdir's latest checkpoint)"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("train", help=HELP,
                            epilog="Override any config value with --config.KEY=VALUE.")
  runtime.add_run_arguments(p)


def run(args, rest) -> int:
  runtime.check_run_arguments(args)
  config = runtime.load_config(args, rest)
  runtime.start_jax(args, config)
  from jaxvision.train import loop

  runtime.print_metrics("final test", loop.train_and_evaluate(config, args.workdir))
  return 0
