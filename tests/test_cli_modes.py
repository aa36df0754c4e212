"""The `jaxvision` parser: eval modes are the protocols that exist; commands, --version, flags."""

import argparse

import pytest

from jaxvision import cli
from jaxvision.evaluate import protocols


def test_eval_mode_choices_are_the_protocols():
  parser = cli._parser()
  sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
  mode = next(a for a in sub.choices["eval"]._actions if a.dest == "mode")
  assert tuple(mode.choices) == protocols.MODES


def test_top_level_description_names_every_command():
  parser = cli._parser()
  # The list of commands, written out here rather than read from cli.COMMANDS.
  for name in ("train", "eval", "models", "bench", "report", "compare", "zero-shot",
               "import-weights"):
    assert name in parser.description, name
  assert sorted(cli.COMMANDS) == sorted(("train", "eval", "models", "bench", "report",
                                         "compare", "zero-shot", "import-weights"))


def test_version_is_the_packaged_one(capsys):
  import pathlib
  import tomllib

  pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
  version = tomllib.loads(pyproject.read_text())["project"]["version"]
  with pytest.raises(SystemExit) as e:
    cli._parser().parse_args(["--version"])
  assert e.value.code == 0
  assert capsys.readouterr().out.strip() == f"jaxvision {version}"


@pytest.mark.parametrize("style", ["-", "_"])
def test_multihost_flags_in_both_spellings(style):
  # --coordinator-address is the house style; jax.distributed's underscore names stay
  # accepted (launch scripts and docs use them).
  flags = [f"--coordinator{style}address=h:1", f"--num{style}processes=2",
           f"--process{style}id=1"]
  args = cli._parser().parse_args(["train", "--config", "c.py", "--workdir", "w", *flags])
  assert (args.coordinator_address, args.num_processes, args.process_id) == ("h:1", 2, 1)
