"""Where examples come from: TFDS, scikit-learn digits, Fashion-MNIST IDX files, an image folder.

Every source gives a `Source`: class count, class names, split sizes, and `reader(split)`,
random access by example index (jaxvision/data/readers.py). The pipeline reads through the
reader only the examples a host uses; `dataset(split)` is the whole split in its fixed order,
decoded, for the few callers that want all of it (small in-memory datasets, audits).
Building a source opens no image file: an image folder is a list of names and labels, TFDS
an ArrayRecord index opened on the first read. Missing data is a `UserError` that says where
we looked and how to get it, at once: no network call unless the user asked for a download.
"""

import dataclasses
import gzip
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from jaxvision import paths
from jaxvision.data import decode, holdout, readers
from jaxvision.errors import UserError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                         "shirt", "sneaker", "bag", "ankle boot")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
BAD_IMAGES = ("error", "skip")


@dataclasses.dataclass
class Source:
  name: str
  num_classes: int
  class_names: tuple[str, ...]
  image_shape: tuple[int | None, int | None, int]  # native (H, W, C); None where it varies
  num_examples: dict[str, int]
  # A sequential tf.data.Dataset per split, for a source made without a reader (it is then
  # loaded into memory once, on first use, to give random access: small sources only).
  make_dataset: Callable[[str], tf.data.Dataset] | None = None
  # Small enough to hold decoded in host memory (semi-supervised splits need the arrays).
  in_memory: bool = True
  make_reader: Callable[[str], object] | None = None
  bad_images: str = "error"  # 'skip': an unreadable image is replaced (pipeline.py)
  held_out: int = 0  # training examples held out as the 'validation' split (holdout.py)
  _readers: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

  def _check(self, split):
    if split not in self.num_examples:
      fix = ("; hold one out of train with --config.data.validation_examples=N"
             if split == "validation" else "")
      raise UserError(f"dataset {self.name!r} has no split {split!r}; "
                      f"it has {', '.join(self.num_examples)}{fix}")

  def reader(self, split: str):
    """Random access to `split` (cached: one reader per split and process)."""
    self._check(split)
    if split not in self._readers:
      if self.make_reader is not None:
        self._readers[split] = self.make_reader(split)
      else:
        self._readers[split] = readers.reader_from_dataset(self.make_dataset(split),
                                                           f"{self.name}/{split}")
    return self._readers[split]

  def dataset(self, split: str) -> tf.data.Dataset:
    """The whole split in its fixed order, images decoded."""
    self._check(split)
    if self.make_reader is None:
      return self.make_dataset(split)
    reader = self.reader(split)
    return tf.data.Dataset.range(len(reader)).map(
        lambda i: decode.prepare(reader.read(i), None, None, reader.channels),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def labels(self, split: str) -> np.ndarray:
    """Every label of `split`, without reading an image where the source allows it."""
    return self.reader(split).labels()


def array_source(name, arrays: dict[str, tuple[np.ndarray, np.ndarray]], class_names):
  """A Source over in-memory (images uint8 NHWC, labels) arrays per split."""

  def make_reader(split):
    images, labels = arrays[split]
    return readers.ArrayReader({"image": images, "label": labels.astype(np.int32)},
                               name=f"{name}/{split}")

  first_images = next(iter(arrays.values()))[0]
  return Source(name=name, num_classes=len(class_names), class_names=tuple(class_names),
                image_shape=tuple(first_images.shape[1:]),
                num_examples={s: len(a[1]) for s, a in arrays.items()},
                make_reader=make_reader)


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


def tfds_builder(name: str, *, data_dir: str | None, download: bool, what: str = "dataset"):
  """A prepared TFDS builder; with download=True one is prepared in ArrayRecord, which has
  random access (TFRecord has none)."""
  import tensorflow_datasets as tfds

  if data_dir and paths.is_remote(data_dir):  # a bucket: the clients set up as for workdirs
    paths.configure_object_storage()
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise UserError(f"TFDS has no dataset named {name!r}; see "
                    "https://www.tensorflow.org/datasets/catalog") from None
  if not builder.is_prepared():
    if not download:
      raise UserError(
          f"TFDS {what} {name!r} is not prepared in {builder.data_dir}; download it with "
          "--config.data.download=True (needs network; some, like imagenet2012, need a manual "
          "download first) or point --config.data.dir at a folder where it is prepared")
    builder = tfds.builder(name, data_dir=data_dir, file_format="array_record")
    builder.download_and_prepare()
  return builder


def random_access(builder) -> bool:
  return builder.info.file_format.value in ("array_record", "parquet")


def no_random_access_error(name: str, builder) -> UserError:
  return UserError(
      f"TFDS {name!r} is prepared as TFRecord in {builder.data_dir}, which has no random "
      "access; convert it once with 'tfds convert_format --dataset_version_dir="
      f"{builder.data_dir} --out_file_format=array_record' (README: Preparing ImageNet)")


def tfds_split_names(builder) -> dict[str, str]:
  """Our split name -> TFDS's: ImageNet evaluates on its validation split as 'test'."""
  names = {s: s for s in builder.info.splits}
  if "test" not in names and "validation" in names:
    names["test"] = "validation"
  return names


def load_tfds_source(name: str, *, data_dir: str | None, download: bool, image_key: str,
                     label_key: str) -> Source:
  """Any TFDS dataset by name; `download=False` unless the user asks, so no network hang.

  ArrayRecord datasets are read by index with images left encoded. A TFRecord dataset small
  enough for memory (under 1 GiB decoded: MNIST, CIFAR) is read once, its images still
  encoded, into memory: the documented fallback; a larger one is an error naming the
  conversion to ArrayRecord.
  """
  builder = tfds_builder(name, data_dir=data_dir, download=download)
  features = builder.info.features
  if image_key not in features or label_key not in features:
    raise UserError(f"TFDS {name!r} has features {', '.join(features)}; set "
                    "data.image_key and data.label_key to the image and label names")
  label_feature = features[label_key]
  num_classes = label_feature.num_classes
  class_names = tuple(label_feature.names) if hasattr(label_feature, "names") else tuple(
      str(i) for i in range(num_classes))
  names = tfds_split_names(builder)
  splits = {s: builder.info.splits[real].num_examples for s, real in names.items()}
  image_shape = tuple(features[image_key].shape)
  small = sum(splits.values()) * int(np.prod([d or 256 for d in image_shape])) < 2 ** 30

  if random_access(builder):
    def make_reader(split):
      return readers.TfdsReader(name, names[split], data_dir=data_dir, image_key=image_key,
                                fields={"label": (label_key,)}, num_examples=splits[split],
                                channels=image_shape[-1] or 3)
  elif small:
    def make_reader(split):  # the encoded images and labels, read once into memory
      import tensorflow_datasets as tfds

      ds = builder.as_dataset(split=names[split], shuffle_files=False,
                              decoders={image_key: tfds.decode.SkipDecoding()})
      ds = ds.map(lambda ex: {"encoded": ex[image_key],
                              "label": tf.cast(ex[label_key], tf.int32)})
      return readers.reader_from_dataset(ds, f"{name}/{split}", channels=image_shape[-1] or 3)
  else:
    raise no_random_access_error(name, builder)
  return Source(name=name, num_classes=num_classes, class_names=class_names,
                image_shape=image_shape, num_examples=splits, make_reader=make_reader,
                in_memory=small)


def load_image_folder_source(root: str | None, *, channels: int,
                             bad_images: str = "error") -> Source:
  """Images under ROOT/SPLIT/CLASS/*.jpg|png; class names from the train split, sorted.

  Only names are listed here: no image is opened until a host reads it. A file that does not
  decode is then an error naming it, or, with bad_images='skip', replaced by the next
  readable one (jaxvision/data/pipeline.py). ROOT may be a bucket (gs://...): it is listed
  and read through jaxvision.paths, like a workdir.
  """
  if bad_images not in BAD_IMAGES:
    raise UserError(f"data.bad_images must be 'error' or 'skip', got {bad_images!r}")
  if not root or not paths.isdir(paths.join(root, "train")):
    raise UserError(f"image folder {root!r} needs a train/ subfolder with one folder per "
                    "class (and test/ likewise); set data.dir")
  classes = sorted(d for d in paths.listdir(paths.join(root, "train"))
                   if paths.isdir(paths.join(root, "train", d)))
  files = {}
  for split in ("train", "test", "validation"):
    split_dir = paths.join(root, split)
    if not paths.isdir(split_dir):
      continue
    names, labels = [], []
    for label, cls in enumerate(classes):
      class_dir = paths.join(split_dir, cls)
      if not paths.isdir(class_dir):
        continue
      for fname in sorted(paths.listdir(class_dir)):
        if fname.lower().endswith(IMAGE_EXTENSIONS):
          names.append(paths.join(class_dir, fname))
          labels.append(label)
    files[split] = (names, labels)
  if not files.get("train", ([], []))[0]:
    raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}/train/CLASS/")

  def make_reader(split):
    return readers.FileReader(*files[split], channels=channels)

  return Source(name=f"folder:{root}", num_classes=len(classes), class_names=tuple(classes),
                image_shape=(None, None, channels),
                num_examples={s: len(f[0]) for s, f in files.items()},
                make_reader=make_reader, in_memory=False, bad_images=bad_images)


# TFDS caption datasets whose feature names are known: name -> (image key, caption path).
PAIR_FEATURES = {"coco_captions": ("image", ("captions", "text"))}


def load_tfds_pairs_source(name: str, *, data_dir: str | None = None, download: bool = False,
                           image_key: str | None = None, caption_key=None) -> Source:
  """A TFDS image-caption dataset as a Source of {'image', 'captions': string vector}.

  Known datasets (PAIR_FEATURES) need no keys; others name the image feature and the caption
  feature (a string, a sequence of strings, or a (dict, key) path such as ('captions', 'text')).
  """
  known_image, known_caption = PAIR_FEATURES.get(name, (None, None))
  image_key, caption_key = image_key or known_image, caption_key or known_caption
  if image_key is None or caption_key is None:
    raise UserError(f"TFDS {name!r} is not a known caption dataset "
                    f"({', '.join(PAIR_FEATURES)}); pass image_key and caption_key")
  builder = tfds_builder(name, data_dir=data_dir, download=download,
                                 what="caption dataset")
  if not random_access(builder):
    raise no_random_access_error(name, builder)
  path = tuple(caption_key) if isinstance(caption_key, (tuple, list)) else (caption_key,)
  names = tfds_split_names(builder)
  splits = {s: builder.info.splits[real].num_examples for s, real in names.items()}
  image_shape = tuple(builder.info.features[image_key].shape)

  def make_reader(split):
    return readers.TfdsReader(name, names[split], data_dir=data_dir, image_key=image_key,
                              fields={"captions": path}, string_fields=(path[0],),
                              num_examples=splits[split], channels=image_shape[-1] or 3)

  source = Source(name=name, num_classes=0, class_names=(), image_shape=image_shape,
                  num_examples=splits, make_reader=make_reader, in_memory=False)
  source.has_captions = True
  return source


def get_source(data_config) -> Source:
  """The source `data.name` names, with data.validation_examples held out of its train split."""
  source = _named_source(data_config)
  return holdout.hold_out_validation(source, data_config.get("validation_examples", 0),
                                     data_config.get("validation_seed", 0))


def _named_source(data_config) -> Source:
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
