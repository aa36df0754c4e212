"""The input pipeline: sources, determinism in (seed, step), host shards, eval padding."""

import numpy as np
import pytest

from jaxvision.config_defaults import base_data_config
from jaxvision.data import pipeline, sources, views
from jaxvision.errors import UserError


def numbered_source(n=50):
  """Images whose pixel (0, 0, 0) holds the example's index: identity survives the pipeline."""
  images = np.zeros((n, 4, 4, 1), np.uint8)
  images[:, 0, 0, 0] = np.arange(n)
  labels = np.arange(n) % 3
  return sources.array_source("numbered", {"train": (images, labels), "test": (images, labels)},
                              ["a", "b", "c"])


def identity_view():
  data = base_data_config()
  data.image_size, data.resize, data.mean, data.std = 4, "none", (0.0,), (1.0 / 255,)
  return views.single_view(data, train=False)


def ids(batch):
  return np.rint(batch["image"][:, 0, 0, 0]).astype(int).tolist()


def take(iterator, k):
  return [next(iterator) for _ in range(k)]


def test_same_seed_same_batches_and_resume_skips_exactly():
  src, view = numbered_source(), identity_view()
  full = take(pipeline.train_batches(src, view, local_batch=8, seed=3), 20)
  again = take(pipeline.train_batches(src, view, local_batch=8, seed=3), 20)
  resumed = take(pipeline.train_batches(src, view, local_batch=8, seed=3, start_step=13), 7)
  assert [ids(b) for b in full] == [ids(b) for b in again]
  assert [ids(b) for b in full[13:]] == [ids(b) for b in resumed]
  other = take(pipeline.train_batches(src, view, local_batch=8, seed=4), 20)
  assert [ids(b) for b in full] != [ids(b) for b in other]


def test_each_epoch_is_a_permutation_in_a_new_order():
  src, view = numbered_source(48), identity_view()
  batches = take(pipeline.train_batches(src, view, local_batch=8, seed=0), 12)
  epoch1 = sum((ids(b) for b in batches[:6]), [])
  epoch2 = sum((ids(b) for b in batches[6:]), [])
  assert sorted(epoch1) == sorted(epoch2) == list(range(48))
  assert epoch1 != epoch2


def test_augmentation_is_reproducible_on_resume():
  src = sources.load_digits_source()
  data = base_data_config()
  data.augment, data.crop_padding = ("random_crop", "flip"), 3
  view = views.single_view(data, train=True)
  full = take(pipeline.train_batches(src, view, local_batch=16, seed=1), 5)
  resumed = take(pipeline.train_batches(src, view, local_batch=16, seed=1, start_step=3), 2)
  for a, b in zip(full[3:], resumed):
    np.testing.assert_array_equal(a["image"], b["image"])


def test_host_shards_are_disjoint_and_cover_the_split():
  src, view = numbered_source(50), identity_view()
  seen = []
  for host in range(2):
    batches = take(pipeline.train_batches(src, view, local_batch=5, seed=0, process_index=host,
                                          process_count=2), 5)  # one host epoch = 25
    seen.append(set(sum((ids(b) for b in batches), [])))
  assert seen[0].isdisjoint(seen[1])
  assert seen[0] | seen[1] == set(range(50))


@pytest.mark.parametrize("hosts", [1, 2, 3])
def test_eval_covers_every_example_once_with_equal_batches(hosts):
  src, view = numbered_source(50), identity_view()
  counted, lengths = [], []
  for host in range(hosts):
    batches = list(pipeline.eval_batches(src, view, split="test", local_batch=8,
                                         process_index=host, process_count=hosts))
    lengths.append(len(batches))
    for b in batches:
      counted += [i for i, m in zip(ids(b), b["mask"]) if m]
  assert sorted(counted) == list(range(50))
  assert len(set(lengths)) == 1



def test_eval_batches_pass_again_and_again_over_the_same_examples():
  # Periodic evaluation keeps one EvalBatches per split (evaluate/evaluators.py): each pass
  # must cover the split again, in the same order.
  src, view = numbered_source(50), identity_view()
  batches = pipeline.EvalBatches(src, view, split="test", local_batch=8)
  passes = [[(list(ids(b)), list(b["mask"])) for b in batches] for _ in range(3)]
  assert passes[0] == passes[1] == passes[2]
  assert sorted(i for b, m in passes[0] for i, k in zip(b, m) if k) == list(range(50))

def test_digits_split_is_fixed_and_stratified():
  src = sources.load_digits_source()
  assert src.num_examples == {"train": 1437, "test": 360}
  labels = np.concatenate([b["label"] for b in src.dataset("test").batch(360).as_numpy_iterator()])
  counts = np.bincount(labels, minlength=10)
  assert counts.min() >= 35 and counts.max() <= 37  # 360 stratified over ~180 per class


def test_missing_fashion_mnist_names_the_fixes(tmp_path):
  with pytest.raises(UserError) as e:
    sources.load_fashion_mnist_source(str(tmp_path))
  message = str(e.value)
  assert str(tmp_path) in message and "dataset-fashion-mnist" in message
  assert "data.download=True" in message and "data.dir" in message and "\n" not in message


def test_image_folder_source(tmp_path):
  import tensorflow as tf
  for split in ("train", "test"):
    for cls, value in (("cat", 10), ("dog", 200)):
      folder = tmp_path / split / cls
      folder.mkdir(parents=True)
      png = tf.io.encode_png(np.full((6, 5, 3), value, np.uint8)).numpy()
      (folder / "a.png").write_bytes(png)
  src = sources.load_image_folder_source(str(tmp_path), channels=3)
  assert src.class_names == ("cat", "dog") and src.num_examples == {"train": 2, "test": 2}
  examples = list(src.dataset("test").as_numpy_iterator())
  assert [int(e["label"]) for e in examples] == [0, 1]
  assert examples[1]["image"].shape == (6, 5, 3) and examples[1]["image"].max() == 200


def test_unknown_dataset_and_tfds_not_prepared_fail_fast(tmp_path):
  data = base_data_config()
  data.name = "mnist"
  with pytest.raises(UserError, match="tfds:NAME"):
    sources.get_source(data)
  data.name, data.dir = "tfds:mnist", str(tmp_path)
  with pytest.raises(UserError, match="data.download=True"):
    sources.get_source(data)


def test_crop_scale_reaches_random_resized_crop():
  # A 1.0-1.0 area range on a square image leaves one crop: the whole image, i.e. the eval
  # view. The Inception default (0.08-1) crops inside it for almost every seed.
  import tensorflow as tf

  data = base_data_config()
  data.image_size, data.resize, data.augment = 8, "none", ("random_resized_crop",)
  image = {"image": tf.constant(np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4),
           "label": tf.constant(0)}
  plain = views.single_view(data, train=False)(image, tf.constant([0, 0], tf.int64))["image"]
  data.crop_scale = (1.0, 1.0)
  whole = views.single_view(data, train=True)
  for s in range(5):
    out = whole(image, tf.constant([s, 1], tf.int64))["image"]
    np.testing.assert_allclose(out.numpy(), plain.numpy(), atol=1e-5)
  data.crop_scale = (0.08, 1.0)
  inception = views.single_view(data, train=True)
  differs = [not np.allclose(inception(image, tf.constant([s, 1], tf.int64))["image"].numpy(),
                             plain.numpy(), atol=1e-5) for s in range(5)]
  assert sum(differs) >= 4


def _triangle_weights(n_in, n_out):
  """Rows: PIL-style antialiased bilinear (triangle of width = downscale factor, half-pixel
  centres, renormalised at the borders)."""
  scale = n_in / n_out
  x = np.arange(n_in) + 0.5
  w = np.maximum(0, 1 - np.abs(x[None] - (np.arange(n_out)[:, None] + 0.5) * scale) / scale)
  return w / w.sum(1, keepdims=True)


@pytest.mark.parametrize("antialias", [True, False])
def test_crop_antialias_selects_the_crop_resize_filter(antialias):
  # The whole 64x64 image (area 1-1) shrunk 4x to 16x16. Without antialiasing a bilinear
  # sample at 4i + 1.5 is the mean of pixels 4i+1 and 4i+2 (closed form); with it, each output
  # is a triangle-weighted sum over 8 pixels (numpy, as PIL does).
  import tensorflow as tf

  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, (64, 64, 1)).astype(np.uint8)
  data = base_data_config()
  data.image_size, data.resize, data.augment = 16, "none", ("random_resized_crop",)
  data.crop_scale, data.mean, data.std, data.crop_antialias = (1.0, 1.0), (0.0,), (1.0,), antialias
  view = views.single_view(data, train=True)
  out = view({"image": tf.constant(pixels), "label": tf.constant(0)},
             tf.constant([3, 1], tf.int64))["image"].numpy()[..., 0]
  x = pixels[..., 0] / 255.0
  if antialias:
    w = _triangle_weights(64, 16)
    expected = w @ x @ w.T
  else:
    rows = (x[1::4] + x[2::4]) / 2
    expected = (rows[:, 1::4] + rows[:, 2::4]) / 2
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_bad_crop_scale_is_one_line_error():
  data = base_data_config()
  data.crop_scale = (0.5, 0.2)
  with pytest.raises(UserError, match=r"data.crop_scale=\(0.5, 0.2\) must satisfy"):
    views.single_view(data, train=True)


def numbered_png_folder(root, n):
  """ROOT/train/c/NNN.png whose pixels all hold the file's number (sorted name order)."""
  import tensorflow as tf
  for split in ("train", "test"):
    folder = root / split / "c"
    folder.mkdir(parents=True)
    for i in range(n):
      png = tf.io.encode_png(np.full((3, 3, 1), i, np.uint8)).numpy()
      (folder / f"{i:03d}.png").write_bytes(png)
  return root


def test_a_bad_file_is_one_line_naming_it_or_is_replaced_by_the_next_one(tmp_path):
  root = numbered_png_folder(tmp_path, 20)
  bad = root / "train" / "c" / "007.png"
  bad.write_bytes(bad.read_bytes()[:20])  # truncated
  view = identity_view()
  strict = sources.load_image_folder_source(str(root), channels=1)
  with pytest.raises(UserError) as e:
    take(pipeline.train_batches(strict, view, local_batch=5, seed=2), 4)  # one epoch
  assert str(e.value).startswith(str(bad)) and "data.bad_images=skip" in str(e.value)
  assert "\n" not in str(e.value)

  skipping = sources.load_image_folder_source(str(root), channels=1, bad_images="skip")
  clean = sources.load_image_folder_source(str(numbered_png_folder(tmp_path / "ok", 20)),
                                           channels=1)
  got = [ids(b) for b in take(pipeline.train_batches(skipping, view, local_batch=5, seed=2), 8)]
  want = [[8 if i == 7 else i for i in ids(b)]
          for b in take(pipeline.train_batches(clean, view, local_batch=5, seed=2), 8)]
  assert got == want  # same positions; file 7 replaced by file 8 wherever it falls
  evaluated = list(pipeline.eval_batches(skipping, view, split="train", local_batch=8))
  real = [i for b in evaluated for i, m in zip(ids(b), b["mask"]) if m]
  assert real == [i for i in range(20) if i != 7]  # the replacement is masked out
