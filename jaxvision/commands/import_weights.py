"""`jaxvision import-weights --format F --model M --src FILE --out DIR`: reference weights
(torchvision, timm) as an Orbax checkpoint folder that eval and --config.init_from read."""

HELP = "convert torchvision/timm weights to a workdir"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("import-weights", help=HELP)
  p.add_argument("--format", required=True, choices=("torchvision", "timm"))
  p.add_argument("--model", required=True)
  p.add_argument("--src", required=True, help=".safetensors, .npz, or .pth (needs torch)")
  p.add_argument("--out", required=True, help="new folder for the Orbax checkpoint")


def run(args, rest=()) -> int:
  from jaxvision import weights

  print(weights.import_weights_command(args.format, args.model, args.src, args.out))
  return 0
