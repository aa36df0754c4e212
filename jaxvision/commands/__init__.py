"""The `jaxvision` commands, one file each: `add_parser(subparsers)` and `run(args, rest)`.

Importing a command module is light (no JAX, no TensorFlow): `jaxvision --help` and
`--cpu-devices` (which must be set before JAX starts) depend on it. `rest` holds the
arguments argparse did not know: `--config.KEY=VALUE` overrides for train and eval.
"""

# The order `jaxvision --help` lists them in.
NAMES = ("train", "eval", "models", "bench", "report", "compare", "zero_shot", "import_weights")
