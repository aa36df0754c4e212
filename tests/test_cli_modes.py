"""`jaxvision eval --mode` offers exactly the evaluation protocols that exist."""

import argparse

from jaxvision import cli
from jaxvision.evaluate import protocols


def test_eval_mode_choices_are_the_protocols():
  parser = cli._parser()
  sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
  mode = next(a for a in sub.choices["eval"]._actions if a.dest == "mode")
  assert tuple(mode.choices) == protocols.MODES
