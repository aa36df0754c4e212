"""Small shared pieces of the tests: config building and running the CLI in-process."""

import contextlib
import io

from jaxvision import cli
from jaxvision.config_loading import apply_overrides, load_config_file


def config(name: str, *overrides: str):
  c = load_config_file(f"configs/{name}.py")
  apply_overrides(c, list(overrides))
  return c


def run_cli(*argv: str) -> tuple[int, str, str]:
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = cli.main(list(argv))
  return code, out.getvalue(), err.getvalue()
