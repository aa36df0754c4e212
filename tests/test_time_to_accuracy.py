"""benchmarks/time_to_accuracy.py's own parts: the IDX files it writes read back through
jaxvision's reader, the validation split is the last 5,000 training images and disjoint
from the rest, and the first time a target is reached."""

import importlib.util
import pathlib

import numpy as np

from jaxvision.data.sources import _read_idx

PATH = pathlib.Path(__file__).parent.parent / "benchmarks" / "time_to_accuracy.py"
spec = importlib.util.spec_from_file_location("time_to_accuracy", PATH)
tta = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tta)


def test_validation_folder_holds_out_the_last_5000_training_images(tmp_path):
  src, out = tmp_path / "src", tmp_path / "out"
  src.mkdir(), out.mkdir()
  n = tta.HOLDOUT + 7
  images = np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28).astype(np.uint8)
  images[:, 0, 0] = np.arange(n) % 251  # a per-image tag, to tell the images apart
  images[:, 0, 1] = np.arange(n) // 251
  labels = (np.arange(n) % 10).astype(np.uint8)
  tta.write_idx(str(src / "train-images-idx3-ubyte"), images)
  tta.write_idx(str(src / "train-labels-idx1-ubyte"), labels)
  tta.validation_folder(str(src), str(out))
  train_x = _read_idx(str(out / "train-images-idx3-ubyte"))
  val_x = _read_idx(str(out / "t10k-images-idx3-ubyte"))
  np.testing.assert_array_equal(train_x, images[:7])
  np.testing.assert_array_equal(val_x, images[7:])
  np.testing.assert_array_equal(_read_idx(str(out / "t10k-labels-idx1-ubyte")), labels[7:])
  tags = lambda x: set(map(tuple, x[:, 0, :2].tolist()))
  assert not tags(train_x) & tags(val_x) and len(tags(val_x)) == tta.HOLDOUT


def test_first_reaching():
  records = [(10.0, 0.85), (20.0, 0.895), (30.0, 0.889), (40.0, 0.9)]
  assert tta.first_reaching(records, 0.89) == 20.0
  assert tta.first_reaching(records, 0.90) == 40.0
  assert tta.first_reaching(records, 0.91) is None
