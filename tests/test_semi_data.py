"""The labeled/unlabeled split and its streams (jaxvision/data/semi.py) on a tiny in-memory source."""

import json

import ml_collections
import numpy as np
import pytest

from gcs_server import bucket_files, emulator_env, gcs  # noqa: F401 (the fixture)
from jaxvision.config_defaults import base_config
from jaxvision.data import semi, sources, trinet
from jaxvision.errors import UserError
from jaxvision.settings.semi import SemiSettings

CLASSES, PER_CLASS = 4, 12


def _source(name="toy"):
  rng = np.random.default_rng(0)
  n = CLASSES * PER_CLASS
  images = rng.integers(0, 256, size=(n, 8, 8, 1), dtype=np.uint8)
  labels = np.tile(np.arange(CLASSES), PER_CLASS).astype(np.int32)
  # Example i carries its own index in pixel (0, 0): batches can be traced back to indices.
  images[:, 0, 0, 0] = np.arange(n)
  return sources.array_source(name, {"train": (images, labels), "test": (images, labels)},
                              [str(c) for c in range(CLASSES)])


def _config(audit_dir="", labels_per_class=3):
  c = base_config()
  c.data.image_size = 8
  c.data.resize = "none"
  c.data.augment = ()  # no augmentation: pixel (0, 0) keeps each example's index
  c.data.mean, c.data.std = (0.0,), (1 / 255.0,)  # pixels back to 0..255 after normalising
  c.semi = ml_collections.ConfigDict({"labels_per_class": labels_per_class, "split_seed": 0,
                                      "unlabeled_ratio": 2, "num_augment": 2,
                                      "audit_dir": audit_dir})
  return c


def _semi(audit_dir=""):
  return SemiSettings.from_config(_config(audit_dir))


def test_choose_labeled_balanced_stable_and_seeded():
  labels = np.random.default_rng(1).integers(0, 5, size=1000)
  a = semi.choose_labeled(labels, labels_per_class=7, seed=3, num_classes=5)
  np.testing.assert_array_equal(np.bincount(labels[a], minlength=5), [7] * 5)
  assert len(set(a.tolist())) == 35 and (np.diff(a) > 0).all()
  np.testing.assert_array_equal(a, semi.choose_labeled(labels, labels_per_class=7, seed=3,
                                                       num_classes=5))
  assert not np.array_equal(a, semi.choose_labeled(labels, labels_per_class=7, seed=4,
                                                   num_classes=5))
  with pytest.raises(UserError, match="labels_per_class"):
    semi.choose_labeled(labels, labels_per_class=10_000, seed=0, num_classes=5)


def test_split_is_a_partition_and_audit_file(tmp_path):
  source = _source("toy_split")
  labeled, unlabeled = semi.split_indices(source, _semi())
  assert len(labeled) == CLASSES * 3 and len(unlabeled) == CLASSES * (PER_CLASS - 3)
  assert not set(labeled) & set(unlabeled)
  assert set(labeled) | set(unlabeled) == set(range(CLASSES * PER_CLASS))
  semi.labeled_stream(source, _config(), semi=_semi(str(tmp_path)), local_batch=4, seed=0,
                      start_step=0, process_index=0, process_count=1)
  record = json.loads((tmp_path / "labeled_indices.json").read_text())
  assert record["indices"] == labeled.tolist()
  assert record["labels"] == [int(i % CLASSES) for i in labeled]  # labels[i] = i mod 4


def test_unlabeled_data_carries_no_label():
  source = _source("toy_nolabel")
  _, unlabeled = semi.split_indices(source, _semi())
  subset = semi.subset_source(source, unlabeled, keep_label=False)
  assert set(subset.dataset("train").element_spec) == {"image"}
  batch = next(semi.mixmatch_stream(source, _config(), semi=_semi(), local_batch=4, seed=0,
                                    start_step=0, process_index=0, process_count=1))
  assert set(batch) == {"image", "label", "unlabeled_image"}  # the step is loss_fn's argument
  assert batch["label"].shape == (4,)
  # mu = 2 images per labeled row, K = 2 views each -> (4, 4, 8, 8, 1)
  assert batch["unlabeled_image"].shape == (4, 4, 8, 8, 1)
  ids = np.rint(batch["unlabeled_image"][:, :, 0, 0, 0]).astype(int)
  assert set(ids.ravel()) <= set(unlabeled.tolist())
  # the K views of one image are consecutive: views 0,1 are image A, views 2,3 image B
  assert (ids[:, 0] == ids[:, 1]).all() and (ids[:, 2] == ids[:, 3]).all()
  labeled_ids = np.rint(batch["image"][:, 0, 0, 0]).astype(int)
  np.testing.assert_array_equal(batch["label"], labeled_ids % CLASSES)


def test_mixmatch_stream_resumes_exactly():
  source = _source("toy_resume")
  kw = dict(local_batch=4, seed=5, process_index=0, process_count=1, semi=_semi())
  full = semi.mixmatch_stream(source, _config(), start_step=0, **kw)
  batches = [next(full) for _ in range(4)]
  resumed = next(semi.mixmatch_stream(source, _config(), start_step=3, **kw))
  for key in batches[3]:
    np.testing.assert_array_equal(resumed[key], batches[3][key])


def test_hosts_get_disjoint_labeled_shards():
  source = _source("toy_hosts")
  labeled, _ = semi.split_indices(source, _semi())
  seen = []
  for p in range(2):  # 12 labeled, 6 per host: two batches of 3 are one epoch
    stream = semi.labeled_stream(source, _config(), semi=_semi(), local_batch=3, seed=0,
                                 start_step=0, process_index=p, process_count=2)
    seen.append({int(round(v)) for _ in range(2) for v in next(stream)["image"][:, 0, 0, 0]})
  assert not seen[0] & seen[1]
  assert seen[0] | seen[1] == set(labeled.tolist())


def test_trinet_round_stream_has_targets_not_labels(tmp_path):
  source = _source("toy_trinet")
  path = str(tmp_path / "round.npz")
  index = np.array([5, 1, 30])
  targets = np.eye(CLASSES, dtype=np.float32)[[0, 1, 2]][:, None].repeat(3, 1)
  weights = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]], np.float32)
  trinet.write_round_file(path, index, targets, weights)
  data = trinet.read_round_file(path)
  np.testing.assert_array_equal(data["index"], [1, 5, 30])  # sorted, rows moved with it
  np.testing.assert_array_equal(data["weights"][0], [0, 1, 0])
  c = _config()
  kw = dict(semi=_semi(), pi=False, local_batch=3, seed=0, start_step=0, process_index=0,
            process_count=1)
  batch = next(trinet.trinet_round_stream(source, c, round_file=path, **kw))
  assert set(batch) == {"image", "targets", "weights"}
  assert batch["targets"].shape == (3, 3, CLASSES) and batch["weights"].shape == (3, 3)
  with pytest.raises(UserError, match="round file"):
    trinet.trinet_round_stream(source, c, round_file=str(tmp_path / "missing.npz"), **kw)


def test_trinet_pi_stream_adds_unlabeled_views_without_labels(tmp_path):
  source = _source("toy_trinet_pi")
  path = str(tmp_path / "round.npz")
  targets = np.eye(CLASSES, dtype=np.float32)[[0, 1, 2]][:, None].repeat(3, 1)
  trinet.write_round_file(path, np.array([5, 1, 30]), targets, np.ones((3, 3), np.float32))
  c = _config()  # unlabeled_ratio 2, num_augment 2
  _, unlabeled = semi.split_indices(source, _semi())
  kw = dict(pi=True, local_batch=3, seed=0, process_index=0, process_count=1)
  batch = next(trinet.trinet_round_stream(source, c, round_file=path, semi=_semi(),
                                          start_step=7, **kw))
  assert set(batch) == {"image", "targets", "weights", "unlabeled_image"}
  assert batch["unlabeled_image"].shape == (3, 4, 8, 8, 1)  # mu * K = 4 views per row
  ids = np.rint(batch["unlabeled_image"][..., 0, 0, 0]).astype(int)   # (3, 4)
  assert set(ids.ravel()) <= set(unlabeled.tolist())                  # from U only
  np.testing.assert_array_equal(ids[:, 0::2], ids[:, 1::2])  # views of one image side by side
  c.semi.num_augment = 3
  with pytest.raises(UserError, match="num_augment=2"):
    trinet.trinet_round_stream(source, c, round_file=path, semi=SemiSettings.from_config(c),
                               start_step=0, **kw)


ROUND_TRIP = """
import numpy as np
from jaxvision import paths
paths.configure_object_storage()
from jaxvision.data import trinet
path = "gs://bucket/w/trinet/round_01.npz"
targets = np.eye(3, dtype=np.float32)[[2, 0, 1]][:, None].repeat(3, 1)
trinet.write_round_file(path, np.array([9, 4, 7]), targets, np.ones((3, 3), np.float32))
data = trinet.read_round_file(path)
assert data["index"].tolist() == [4, 7, 9], data["index"]  # sorted, targets with them
assert data["targets"][:, 0].argmax(-1).tolist() == [0, 1, 2], data["targets"]
print("OK", paths.exists(path + ".tmp"))
"""


def test_round_file_round_trips_through_an_object_store(gcs, tmp_path):
  # A gs:// workdir: the round file is written through jaxvision.paths (no local 'gs:' folder).
  import subprocess
  import sys

  proc = subprocess.run([sys.executable, "-c", ROUND_TRIP], env=emulator_env(gcs),
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split()[-2:] == ["OK", "False"]  # the temporary file was moved away
  assert bucket_files(gcs, "w/") == ["w/trinet/round_01.npz"]
  assert not (tmp_path / "gs:").exists()
