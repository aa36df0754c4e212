"""Random access by example index: the one way every source hands examples to the pipeline.

A reader is the contents of one split: `len(reader)` examples, and `read(index)`, a tf
function of a scalar int64 index that returns one example as a dict of tensors. Images come
either decoded ('image', uint8 HWC: in-memory arrays) or still encoded ('encoded', the file's
bytes: image folders, TFDS ArrayRecord); encoded images are decoded by the host that uses
them, fused with the crop (jaxvision/data/decode.py). Nothing here reads an image when a
reader is built: a folder reader holds file names and labels only, a TFDS reader opens its
ArrayRecord index lazily. `name(index)` says which file or record an index is, for errors.
"""

import numpy as np
import tensorflow as tf

from jaxvision import paths as jaxvision_paths


def _read_object(path) -> bytes:
  return jaxvision_paths.read_bytes(path.decode() if isinstance(path, bytes) else str(path))


class ArrayReader:
  """Examples held in memory: {'image': uint8 NHWC (or 'encoded': bytes), 'label', ...}."""

  def __init__(self, tensors: dict[str, np.ndarray], name: str = "array", channels: int = 0):
    self._arrays = dict(tensors)
    self._tensors = None
    self._name = name
    self.channels = int(tensors["image"].shape[-1]) if "image" in tensors else channels
    # decoded images in memory: a batch is one gather (pipeline._read_and_view)
    self.in_memory_images = "image" in tensors

  def __len__(self):
    return len(next(iter(self._arrays.values())))

  def read(self, index):
    if self._tensors is None:  # built once, on the first trace, then captured by tf.data
      with tf.init_scope():  # eager, so every later trace captures the same tensors
        self._tensors = {k: tf.convert_to_tensor(v) for k, v in self._arrays.items()}
    return {k: tf.gather(v, index) for k, v in self._tensors.items()}

  def labels(self):
    return np.asarray(self._arrays["label"], np.int32)

  def name(self, index: int) -> str:
    return f"{self._name}[{index}]"


class FileReader:
  """An image per file: {'encoded': the file's bytes, 'label'}; the paths are the only state."""

  def __init__(self, paths: list[str], labels: list[int], channels: int):
    self._paths = list(paths)
    self._labels = np.asarray(labels, np.int32)
    self._tensors = None
    self._remote = bool(self._paths) and jaxvision_paths.is_remote(self._paths[0])
    self.channels = channels

  def __len__(self):
    return len(self._paths)

  def read(self, index):
    if self._tensors is None:  # one tensor of names, captured by tf.data, not one per trace
      with tf.init_scope():
        self._tensors = (tf.constant(self._paths), tf.constant(self._labels))
    paths, labels = self._tensors
    path = tf.gather(paths, index)
    if self._remote:
      # Objects go through jaxvision.paths (one tested GCS client that honours
      # STORAGE_EMULATOR_HOST), not TensorFlow's own GCS filesystem.
      encoded = tf.ensure_shape(tf.numpy_function(_read_object, [path], tf.string,
                                                  stateful=False), [])
    else:
      encoded = tf.io.read_file(path)
    return {"encoded": encoded, "label": tf.gather(labels, index)}

  def labels(self):
    return self._labels

  def name(self, index: int) -> str:
    return self._paths[int(index)]


class TfdsReader:
  """A TFDS split through `tfds.data_source` (ArrayRecord): images stay encoded.

  `fields` maps output key -> a path of feature keys (('captions', 'text')); the image field
  is read undecoded (SkipDecoding). Each read is one record fetched by index.
  """

  def __init__(self, name: str, split: str, *, data_dir, image_key: str, fields: dict,
               num_examples: int, channels: int, string_fields=()):
    self._args = (name, split, data_dir)
    self._image_key, self._fields = image_key, dict(fields)
    self._string_fields = tuple(string_fields)  # variable-length string vectors (captions)
    self._source = None
    self._len = num_examples
    self.channels = channels

  def __len__(self):
    return self._len

  def _data_source(self):
    if self._source is None:  # opened on the first read, not when the run is configured
      import tensorflow_datasets as tfds

      name, split, data_dir = self._args
      self._source = tfds.data_source(name, split=split, data_dir=data_dir,
                                      decoders={self._image_key: tfds.decode.SkipDecoding()})
    return self._source

  def _record(self, index):
    record = self._data_source()[int(index)]
    out = [np.asarray(record[self._image_key], object).reshape(())]
    for path in self._fields.values():
      value = record
      for key in path:
        value = value[key]
      out.append(np.asarray(value, object).reshape(-1) if path[0] in self._string_fields
                 else np.asarray(value, np.int32))
    return out

  def read(self, index):
    keys = list(self._fields)
    dtypes = [tf.string] + [tf.string if self._fields[k][0] in self._string_fields
                            else tf.int32 for k in keys]
    values = tf.numpy_function(self._record, [index], dtypes, stateful=False)
    out = {"encoded": tf.ensure_shape(values[0], [])}
    for key, value, dtype in zip(keys, values[1:], dtypes[1:]):
      out[key] = tf.ensure_shape(value, [None] if dtype == tf.string else [])
    return out

  def labels(self):
    key = next(k for k, path in self._fields.items() if path[0] not in self._string_fields)
    path = self._fields[key]
    source = self._data_source()
    out = np.empty(len(self), np.int32)
    for i in range(len(self)):
      value = source[i]
      for k in path:
        value = value[k]
      out[i] = value
    return out

  def name(self, index: int) -> str:
    name, split, _ = self._args
    return f"TFDS {name} {split} record {index}"


class SubsetReader:
  """Examples `indices` of another reader (k -> base index indices[k]), with extra arrays.

  keep_label=False drops the label, so an unlabeled subset cannot leak it.
  """

  def __init__(self, base, indices, *, keep_label: bool = True, extra: dict | None = None):
    self._base = base
    self._indices = np.asarray(indices, np.int64)
    self._keep_label = keep_label
    self._extra = {k: np.asarray(v) for k, v in (extra or {}).items()}
    self._tensors = None
    self.channels = base.channels
    self.in_memory_images = getattr(base, "in_memory_images", False)

  def __len__(self):
    return len(self._indices)

  def read(self, index):
    if self._tensors is None:
      with tf.init_scope():
        self._tensors = {k: tf.constant(v) for k, v in self._extra.items()}
        self._tensors["__index"] = tf.constant(self._indices)
    example = dict(self._base.read(tf.gather(self._tensors["__index"], index)))
    if not self._keep_label:
      example.pop("label", None)
    for key in self._extra:
      example[key] = tf.gather(self._tensors[key], index)
    return example

  def labels(self):
    return self._base.labels()[self._indices]

  def name(self, index: int) -> str:
    return self._base.name(int(self._indices[int(index)]))


def reader_from_dataset(dataset: tf.data.Dataset, name: str, channels: int = 0) -> ArrayReader:
  """A small sequential dataset loaded into memory once (equal shapes per key, or bytes)."""
  columns: dict[str, list] = {}
  for example in dataset.as_numpy_iterator():
    for key, value in example.items():
      columns.setdefault(key, []).append(value)
  return ArrayReader({k: np.stack(v) for k, v in columns.items()}, name=name,
                     channels=channels)
