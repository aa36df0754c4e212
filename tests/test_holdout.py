"""data.validation_examples: a validation split carved from train, evaluated during training;
the test split evaluated once, at the end (jaxvision/data/holdout.py, train/loop.py)."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from helpers import config, run_cli
from jaxvision.data import holdout, pipeline, semi, sources, views
from jaxvision.errors import UserError
from jaxvision.settings.semi import SemiSettings
from jaxvision.train import loop


def _digits_train():
  """The digits train split as load_digits_source documents it, computed here with sklearn."""
  d = load_digits()
  images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  x_train, _, y_train, _ = train_test_split(images, d.target, test_size=360, random_state=0,
                                            stratify=d.target)
  return x_train, y_train


def _read_all(source, split):
  batches = source.dataset(split).batch(4096).as_numpy_iterator()
  b = next(batches)
  return b["image"], b["label"]


@pytest.mark.parametrize("requested,n,expected", [(0, 100, 0), (25, 100, 25), (0.1, 1437, 144),
                                                   (0.5, 3, 2), (99, 100, 99)])
def test_validation_count_is_a_count_or_a_fraction(requested, n, expected):
  assert holdout.validation_count(requested, n) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True, 100, 2.0 * 100])
def test_validation_count_refuses_what_leaves_no_training_data_or_is_not_a_number(bad):
  with pytest.raises(UserError, match="validation_examples"):
    holdout.validation_count(bad, 100)


def test_carved_splits_partition_the_train_split_by_the_documented_draw():
  c = config("lenet5_digits", "--config.data.validation_examples=200")
  source = sources.get_source(c.data)
  assert source.num_examples == {"train": 1237, "validation": 200, "test": 360}
  x, y = _digits_train()
  # the documented draw: the first 200 of numpy's permutation of 1,437 under seed 0, sorted
  held = np.sort(np.random.default_rng(0).permutation(1437)[:200])
  kept = np.setdiff1d(np.arange(1437), held)
  for split, idx in (("validation", held), ("train", kept)):
    images, labels = _read_all(source, split)
    np.testing.assert_array_equal(images, x[idx])
    np.testing.assert_array_equal(labels, y[idx])
  # the split does not move with the run's seed, and does with data.validation_seed
  again = sources.get_source(config("lenet5_digits", "--config.data.validation_examples=200",
                                    "--config.seed=5").data)
  np.testing.assert_array_equal(_read_all(again, "validation")[0], x[held])
  other = sources.get_source(config("lenet5_digits", "--config.data.validation_examples=200",
                                    "--config.data.validation_seed=1").data)
  assert not np.array_equal(_read_all(other, "validation")[0], x[held])


def test_the_training_stream_never_shows_a_validation_image():
  c = config("lenet5_digits", "--config.data.validation_examples=300",
             "--config.data.augment=()")
  source = sources.get_source(c.data)
  val_images, _ = _read_all(source, "validation")
  val = {v.tobytes() for v in val_images}
  train_images, _ = _read_all(source, "train")
  assert not val & {t.tobytes() for t in train_images}  # digits has no duplicate images here
  c.data.mean, c.data.std = (0.0,), (1 / 255.0,)  # batches back in 0..255 after normalising
  c.data.image_size, c.data.resize = 8, "none"
  seen = set()
  stream = pipeline.train_batches(source, views.single_view(c.data, train=True), local_batch=100,
                                  seed=0, start_step=0, process_index=0, process_count=1)
  for _ in range(12 * 3):  # three passes over the 1,137 training images
    batch = next(stream)
    seen |= {np.round(i).astype(np.uint8).tobytes() for i in batch["image"]}
  assert len(seen) == 1137 and not seen & val


def test_semi_labeled_subset_is_drawn_outside_the_validation_split(tmp_path):
  c = config("mixmatch_fashion_mnist", "--config.data.validation_examples=5000")
  source = sources.get_source(c.data)
  assert source.num_examples["train"] == 55000 and source.held_out == 5000
  labeled, unlabeled = semi.split_indices(source, SemiSettings.from_config(c))
  assert len(labeled) == 400 and len(unlabeled) == 54600
  assert np.bincount(source.labels("train")[labeled], minlength=10).tolist() == [40] * 10


def test_training_evaluates_validation_periodically_and_test_once(tmp_path):
  c = config("lenet5_digits", "--config.data.validation_examples=300",
             "--config.num_train_steps=60", "--config.eval_every_steps=20",
             "--config.log_every_steps=20", "--config.checkpoint_every_steps=60")
  final = loop.train_and_evaluate(c, str(tmp_path))
  records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  evals = [(r["step"], r["split"]) for r in records if r["split"] != "train"]
  assert evals == [(20, "validation"), (40, "validation"), (60, "validation"), (60, "test")]
  test = records[-1]
  assert final["accuracy"] == pytest.approx(test["accuracy"])
  # 60 steps of LeNet-5 on digits learn well above chance (0.1) on both held-out sets
  assert test["accuracy"] > 0.7 and records[-2]["accuracy"] > 0.7

  # `jaxvision eval --split validation` scores the checkpoint on the same held-out images
  code, out, _ = run_cli("eval", "--config", "configs/lenet5_digits.py", "--workdir",
                         str(tmp_path), "--split", "validation",
                         "--config.data.validation_examples=300", "--config.num_train_steps=60")
  assert code == 0 and "validation (center): accuracy" in out
  accuracy = float(out.split("accuracy ")[1].split(",")[0])
  assert accuracy == pytest.approx(records[-2]["accuracy"], abs=1e-4)


def test_validation_without_a_held_out_split_names_the_fix(tmp_path):
  c = config("lenet5_digits")
  with pytest.raises(UserError, match="no split 'validation'.*validation_examples=N"):
    sources.get_source(c.data).reader("validation")
