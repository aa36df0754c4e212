"""The `jaxvision` commands, one file each: `add_parser(subparsers)` and `run(args, rest)`.

jaxvision/cli.py wires them. Importing a command module is light (no JAX, no TensorFlow):
`jaxvision --help` and `--cpu-devices` (which must be set before JAX starts) depend on it.
`rest` holds the arguments argparse did not know: `--config.KEY=VALUE` overrides for train
and eval.
"""
