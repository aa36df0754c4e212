"""Where examples come from: TFDS, scikit-learn digits, Fashion-MNIST IDX files, an image folder.

Every source gives a `Source`: class count, class names, split sizes, and `dataset(split)`, a
tf.data.Dataset of {'image': uint8 HWC, 'label': int32} in a fixed order. Shuffling, sharding
and augmentation happen later, in pipeline.py, so every source is deterministic the same way.
Missing data is a `UserError` that says where we looked and how to get it, at once: no
network call unless the user asked for a download.
"""

import dataclasses
import gzip
import os
import sys
from typing import Callable

import numpy as np
import tensorflow as tf

from jaxvision.errors import UserError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                         "shirt", "sneaker", "bag", "ankle boot")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclasses.dataclass
class Source:
  name: str
  num_classes: int
  class_names: tuple[str, ...]
  image_shape: tuple[int | None, int | None, int]  # native (H, W, C); None where it varies
  num_examples: dict[str, int]
  make_dataset: Callable[[str], tf.data.Dataset]
  # Small enough for a shuffle buffer that holds the whole split (a perfect shuffle).
  in_memory: bool = True

  def dataset(self, split: str) -> tf.data.Dataset:
    if split not in self.num_examples:
      raise UserError(f"dataset {self.name!r} has no split {split!r}; "
                      f"it has {', '.join(self.num_examples)}")
    return self.make_dataset(split)


def array_source(name, arrays: dict[str, tuple[np.ndarray, np.ndarray]], class_names):
  """A Source over in-memory (images uint8 NHWC, labels) arrays per split."""

  def make_dataset(split):
    images, labels = arrays[split]
    return tf.data.Dataset.from_tensor_slices(
        {"image": images, "label": labels.astype(np.int32)})

  first_images = next(iter(arrays.values()))[0]
  return Source(name=name, num_classes=len(class_names), class_names=tuple(class_names),
                image_shape=tuple(first_images.shape[1:]),
                num_examples={s: len(a[1]) for s, a in arrays.items()},
                make_dataset=make_dataset)


def load_digits_source() -> Source:
  """scikit-learn's 1,797 8x8 digits (UCI), shipped inside scikit-learn: no download.

  The split is fixed and documented: a stratified 80/20 split by
  sklearn.model_selection.train_test_split(test_size=360, random_state=0, stratify=labels),
  giving 1,437 train and 360 test images. Pixel values 0..16 are scaled to 0..255.
  """
  from sklearn.datasets import load_digits
  from sklearn.model_selection import train_test_split

  digits = load_digits()
  images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  labels = digits.target.astype(np.int32)
  x_train, x_test, y_train, y_test = train_test_split(
      images, labels, test_size=360, random_state=0, stratify=labels)
  return array_source("digits", {"train": (x_train, y_train), "test": (x_test, y_test)},
                      [str(i) for i in range(10)])


def _read_idx(path: str) -> np.ndarray:
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "rb") as f:
    data = f.read()
  ndim = data[3]
  dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
  array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
  if array.size != int(np.prod(dims)):
    raise UserError(f"{path} is truncated: expected {int(np.prod(dims))} values, "
                    f"found {array.size}; reinstall the dataset")
  return array.reshape(dims)


def _find_idx(directory: str, stem: str) -> str | None:
  for candidate in (stem, stem + ".gz"):
    path = os.path.join(directory, candidate)
    if os.path.isfile(path):
      return path
  return None


def load_fashion_mnist_source(data_dir: str | None) -> Source:
  """Fashion-MNIST (Xiao et al. 2017) from the four IDX files, plain or gzipped."""
  directory = data_dir or FASHION_MNIST_DIR
  stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
  arrays = {}
  for split, (image_stem, label_stem) in stems.items():
    image_path, label_path = _find_idx(directory, image_stem), _find_idx(directory, label_stem)
    if image_path is None or label_path is None:
      raise UserError(
          f"Fashion-MNIST not found: no {image_stem}[.gz] in {directory}; install it with "
          "'apt-get install dataset-fashion-mnist', set data.dir to a folder with the IDX "
          "files, or use data.name=tfds:fashion_mnist with data.download=True")
    arrays[split] = (_read_idx(image_path)[..., None], _read_idx(label_path))
  return array_source("fashion_mnist", arrays, FASHION_MNIST_CLASSES)


def load_tfds_source(name: str, *, data_dir: str | None, download: bool, image_key: str,
                     label_key: str) -> Source:
  """Any TFDS dataset by name; `download=False` unless the user asks, so no network hang."""
  import tensorflow_datasets as tfds

  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise UserError(f"TFDS has no dataset named {name!r}; see "
                    "https://www.tensorflow.org/datasets/catalog") from None
  if not builder.is_prepared():
    if not download:
      raise UserError(
          f"TFDS dataset {name!r} is not prepared in {builder.data_dir}; download it with "
          "--config.data.download=True (needs network; some, like imagenet2012, need a manual "
          "download first) or point --config.data.dir at a folder where it is prepared")
    builder.download_and_prepare()
  features = builder.info.features
  if image_key not in features or label_key not in features:
    raise UserError(f"TFDS {name!r} has features {', '.join(features)}; set "
                    "data.image_key and data.label_key to the image and label names")
  label_feature = features[label_key]
  num_classes = label_feature.num_classes
  class_names = tuple(label_feature.names) if hasattr(label_feature, "names") else tuple(
      str(i) for i in range(num_classes))
  splits = {s: info.num_examples for s, info in builder.info.splits.items()}
  if "test" not in splits and "validation" in splits:
    splits["test"] = splits["validation"]  # ImageNet evaluates on its validation split.

  def make_dataset(split):
    real = "validation" if split == "test" and "test" not in builder.info.splits else split
    ds = builder.as_dataset(split=real, shuffle_files=False)
    return ds.map(lambda ex: {"image": ex[image_key],
                              "label": tf.cast(ex[label_key], tf.int32)},
                  num_parallel_calls=tf.data.AUTOTUNE)

  image_shape = tuple(features[image_key].shape)
  small = sum(splits.values()) * int(np.prod([d or 256 for d in image_shape])) < 2 ** 30
  return Source(name=name, num_classes=num_classes, class_names=class_names,
                image_shape=image_shape, num_examples=splits,
                make_dataset=make_dataset, in_memory=small)


IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def _looks_like_image(path: str) -> bool:
  try:
    with open(path, "rb") as f:
      head = f.read(8)
  except OSError:
    return False
  return any(head.startswith(magic) for magic in IMAGE_MAGIC)


def load_image_folder_source(root: str | None, *, channels: int,
                             bad_images: str = "error") -> Source:
  """Images under ROOT/SPLIT/CLASS/*.jpg|png; class names from the train split, sorted.

  A file that is not an image (by its first bytes) is an error naming it, or, with
  bad_images='skip', left out and counted in a warning; with 'skip', an image that fails to
  decode later is dropped by tf.data too.
  """
  if bad_images not in ("error", "skip"):
    raise UserError(f"data.bad_images must be 'error' or 'skip', got {bad_images!r}")
  if not root or not os.path.isdir(os.path.join(root, "train")):
    raise UserError(f"image folder {root!r} needs a train/ subfolder with one folder per "
                    "class (and test/ likewise); set data.dir")
  classes = sorted(d for d in os.listdir(os.path.join(root, "train"))
                   if os.path.isdir(os.path.join(root, "train", d)))
  files, bad = {}, []
  for split in ("train", "test", "validation"):
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
      continue
    paths, labels = [], []
    for label, cls in enumerate(classes):
      class_dir = os.path.join(split_dir, cls)
      if not os.path.isdir(class_dir):
        continue
      for fname in sorted(os.listdir(class_dir)):
        if fname.lower().endswith(IMAGE_EXTENSIONS):
          path = os.path.join(class_dir, fname)
          if not _looks_like_image(path):
            bad.append(path)
            continue
          paths.append(path)
          labels.append(label)
    files[split] = (paths, labels)
  if bad and bad_images == "error":
    raise UserError(f"{bad[0]} is not a readable image ({len(bad)} such file(s) under "
                    f"{root}); remove it or set data.bad_images=skip")
  if bad:
    print(f"jaxvision: warning: skipped {len(bad)} unreadable image file(s) under {root}, "
          f"e.g. {', '.join(bad[:3])}", file=sys.stderr, flush=True)
  if not files.get("train", ([], []))[0]:
    raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}/train/CLASS/")

  def make_dataset(split):
    paths, labels = files[split]
    ds = tf.data.Dataset.from_tensor_slices({"path": paths, "label": np.int32(labels)})

    def decode(ex):
      image = tf.io.decode_image(tf.io.read_file(ex["path"]), channels=channels,
                                 expand_animations=False)
      return {"image": image, "label": ex["label"]}

    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.ignore_errors(log_warning=True) if bad_images == "skip" else ds

  return Source(name=f"folder:{root}", num_classes=len(classes), class_names=tuple(classes),
                image_shape=(None, None, channels),
                num_examples={s: len(f[0]) for s, f in files.items()},
                make_dataset=make_dataset, in_memory=False)


def get_source(data_config) -> Source:
  """Builds the source that `data.name` names: digits, fashion_mnist, folder, tfds:NAME."""
  name = data_config.name
  if name == "digits":
    return load_digits_source()
  if name == "fashion_mnist":
    return load_fashion_mnist_source(data_config.get("dir") or None)
  if name == "folder":
    return load_image_folder_source(data_config.get("dir") or None,
                                    channels=data_config.get("channels", 3),
                                    bad_images=data_config.get("bad_images", "error"))
  if name.startswith("tfds_pairs:"):  # image-caption datasets, for CLIP
    from jaxvision.data.image_text import load_tfds_pairs_source

    return load_tfds_pairs_source(name[len("tfds_pairs:"):],
                                  data_dir=data_config.get("dir") or None,
                                  download=data_config.get("download", False))
  if name.startswith("tfds:"):
    return load_tfds_source(name[len("tfds:"):], data_dir=data_config.get("dir") or None,
                            download=data_config.get("download", False),
                            image_key=data_config.get("image_key", "image"),
                            label_key=data_config.get("label_key", "label"))
  raise UserError(f"unknown dataset {name!r}; use digits, fashion_mnist, folder (with "
                  "data.dir), tfds:NAME for any TFDS dataset (e.g. tfds:cifar10) or "
                  "tfds_pairs:NAME for image-caption pairs (e.g. tfds_pairs:coco_captions)")
