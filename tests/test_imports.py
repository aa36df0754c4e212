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


def test_start_up_skips_keras_and_torch_yet_both_still_import():
  # TensorFlow loads Keras's optimizers (and scikit-learn) and tensorboardX loads torch when
  # they are installed; the `jaxvision` command uses neither (data/__init__.py, metrics_log.py).
  code = ("import sys\n"
          "import jaxvision.data\n"
          "from jaxvision.train import metrics_log\n"
          "SummaryWriter, _ = metrics_log._import_tensorboardx()\n"
          "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'sklearn', 'torch'})\n"
          "assert not loaded, loaded\n"
          "import keras.src.optimizers, torch\n"
          "assert torch.zeros(2).sum().item() == 0.0\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
