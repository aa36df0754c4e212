"""Whole-batch reads (pipeline._read_and_view): in-memory images under a view without
randomness are gathered and viewed a batch at a time. The batches must be the ones the
per-example path makes, and their pixels the view written out in numpy."""

import math

import numpy as np
import pytest

from jaxvision.config_defaults import base_data_config
from jaxvision.data import order, pipeline, sources, views

MEAN, STD = 0.25, 0.5


def random_source(n=45, side=6, seed=0):
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (n, side, side, 1), dtype=np.uint8)
  return sources.array_source("random", {"train": (images, rng.integers(0, 10, n))},
                              [str(c) for c in range(10)])


def padded_view(augment=()):
  data = base_data_config()
  data.image_size, data.resize, data.augment = 10, "pad", tuple(augment)
  data.mean, data.std = (MEAN,), (STD,)
  return views.single_view(data, train=True)


def per_example(view):
  """The same view, marked unbatchable so that the pipeline maps it one example at a time."""
  def fn(example, seed):
    return view(example, seed)
  fn.batchable = False
  return fn


def take(it, steps):
  return [next(it) for _ in range(steps)]


@pytest.mark.parametrize("hosts,start", [(1, 0), (1, 4), (3, 2)])
def test_whole_batches_equal_the_per_example_path(hosts, start):
  src, view, global_batch = random_source(), padded_view(), 12  # batches straddle epochs
  assert pipeline._batches_whole(src, view, "train", global_batch // hosts)
  for h in range(hosts):
    kw = dict(local_batch=global_batch // hosts, seed=7, start_step=start, process_index=h,
              process_count=hosts)
    whole = take(pipeline.train_batches(src, view, **kw), 9)
    single = take(pipeline.train_batches(src, per_example(view), **kw), 9)
    for a, b in zip(whole, single):
      assert a.keys() == b.keys()
      for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_whole_batch_pixels_are_the_view_in_numpy():
  src = random_source()
  images = src.reader("train")._arrays["image"]
  labels = src.reader("train")._arrays["label"]
  it = pipeline.train_batches(src, padded_view(), local_batch=8, seed=3, start_step=5)
  for step in range(5, 12):  # 45 images, 8 a step: steps 5 and 11 cross an epoch
    batch = next(it)
    idx = order.step_indices(step, num_examples=45, seed=3, global_batch=8)
    expected = np.pad(images[idx] / 255.0, [(0, 0), (2, 2), (2, 2), (0, 0)])
    np.testing.assert_allclose(batch["image"], (expected - MEAN) / STD, atol=1e-6)
    np.testing.assert_array_equal(batch["label"], labels[idx])


def test_random_or_resizing_views_and_skipped_images_stay_per_example():
  src = random_source()
  assert not pipeline._batches_whole(src, padded_view(("flip",)), "train", 8)
  data = base_data_config()
  data.image_size, data.resize, data.augment = 10, "bilinear", ()
  assert not pipeline._batches_whole(src, views.single_view(data, train=False), "train", 8)
  assert not pipeline._batches_whole(src, padded_view(), "train", 64)  # batch > dataset
  src.bad_images = "skip"
  assert not pipeline._batches_whole(src, padded_view(), "train", 8)


def test_whole_eval_batches_equal_the_per_example_path():
  src, view = random_source(n=45), padded_view()
  for hosts in (1, 2):
    for h in range(hosts):
      kw = dict(split="train", local_batch=8, process_index=h, process_count=hosts)
      whole = list(pipeline.eval_batches(src, view, **kw))
      single = list(pipeline.eval_batches(src, per_example(view), **kw))
      assert len(whole) == len(single) == math.ceil(math.ceil(45 / hosts) / 8)
      for a, b in zip(whole, single):
        assert a.keys() == b.keys()
        for key in a:
          np.testing.assert_array_equal(a[key], b[key])
