"""`jaxvision report WORKDIR [--out DIR]`: curves, confusion matrix and a Markdown summary."""

import argparse

HELP = "PNG curves, confusion matrix and a Markdown summary"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("report", help=HELP)
  p.add_argument("workdir")
  p.add_argument("--out", default=None, help="folder for the report (default WORKDIR/report)")
  p.add_argument("--cpu-devices", type=int, default=0, help=argparse.SUPPRESS)


def run(args, rest=()) -> int:
  from jaxvision.reporting import report

  print(f"wrote {report.write_report(args.workdir, args.out)}")
  return 0
