"""`jaxvision compare WORKDIR WORKDIR... [--out DIR]`: the runs' curves overlaid."""

HELP = "overlay the curves of several runs"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("compare", help=HELP)
  p.add_argument("workdirs", nargs="+")
  p.add_argument("--out", default="comparison", help="folder for compare.png and compare.md")


def run(args, rest=()) -> int:
  from jaxvision.reporting import report

  print(f"wrote {report.write_comparison(args.workdirs, args.out)}")
  return 0
