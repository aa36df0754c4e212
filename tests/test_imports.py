"""Accelerator hosts may lack TensorFlow: models, losses and objectives must not import it."""

import subprocess
import sys


def test_core_packages_do_not_import_tensorflow():
  code = ("import sys, jaxvision.models, jaxvision.losses, jaxvision.objectives; "
          "sys.exit(1 if any(m.startswith('tensorflow') for m in sys.modules) else 0)")
  assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_data_package_does_not_import_jax():
  # Checked in the source: TensorFlow itself imports jax when it finds it installed.
  import ast
  import pathlib
  data_dir = pathlib.Path(__file__).resolve().parents[1] / "jaxvision" / "data"
  paths = sorted(data_dir.glob("*.py"))
  assert paths, f"no sources under {data_dir}"  # a wrong path must not pass silently
  for path in paths:
    for node in ast.walk(ast.parse(path.read_text())):
      names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
               [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
      bad = [n for n in names if n.split(".")[0] in ("jax", "flax", "optax")]
      assert not bad, f"{path} imports {bad}"
