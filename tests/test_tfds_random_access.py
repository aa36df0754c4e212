"""TFDS through its random-access form: ArrayRecord read by index with images left encoded.

A tiny dataset builder, prepared offline in tmp_path in both file formats, stands in for
ImageNet. The expected pixels come from TFDS's own decoding (`builder.as_dataset`).
"""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxvision.config_defaults import base_data_config
from jaxvision.data import readers, sources
from jaxvision.errors import UserError


class TinyPhotos(tfds.core.GeneratorBasedBuilder):
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(None, None, 3)),
        "label": tfds.features.ClassLabel(num_classes=3)}))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(12), "validation": self._generate_examples(5)}

  def _generate_examples(self, n):
    rng = np.random.default_rng(n)
    for i in range(n):
      yield i, {"image": rng.integers(0, 255, (10 + i, 8, 3), dtype=np.uint8), "label": i % 3}


def prepared(root, file_format):
  TinyPhotos(data_dir=str(root), file_format=file_format).download_and_prepare()
  data = base_data_config()
  data.name, data.dir = "tfds:tiny_photos", str(root)
  return data


def tfds_images(root, split, file_format):
  if file_format == "array_record":  # TFDS decodes the images itself
    return [ex["image"] for ex in tfds.data_source("tiny_photos", split=split,
                                                   data_dir=str(root))]
  ds = tfds.builder("tiny_photos", data_dir=str(root)).as_dataset(split=split,
                                                                   shuffle_files=False)
  return [ex["image"] for ex in ds.as_numpy_iterator()]


def test_array_record_is_read_by_index_with_images_encoded(tmp_path):
  source = sources.get_source(prepared(tmp_path, "array_record"))
  assert source.num_examples == {"train": 12, "validation": 5, "test": 5}
  reader = source.reader("train")
  assert isinstance(reader, readers.TfdsReader)
  example = reader.read(np.int64(7))
  assert set(example) == {"encoded", "label"}  # not decoded by the reader
  assert example["encoded"].numpy()[:4] == b"\x89PNG"
  decoded = list(source.dataset("test").as_numpy_iterator())  # 'test' is the validation split
  for got, want in zip(decoded, tfds_images(tmp_path, "validation", "array_record")):
    np.testing.assert_array_equal(got["image"], want)
  want = [int(ex["label"]) for ex in tfds.data_source("tiny_photos", split="train",
                                                      data_dir=str(tmp_path))]
  assert source.labels("train").tolist() == want


def test_small_tfrecord_dataset_is_held_encoded_in_memory_and_a_caption_one_names_the_conversion(
    tmp_path):
  source = sources.get_source(prepared(tmp_path, "tfrecord"))
  reader = source.reader("train")
  assert isinstance(reader, readers.ArrayReader)
  assert set(reader.read(np.int64(0))) == {"encoded", "label"}  # held encoded
  for got, want in zip(source.dataset("train").as_numpy_iterator(),
                       tfds_images(tmp_path, "train", "tfrecord")):
    np.testing.assert_array_equal(got["image"], want)
  with pytest.raises(UserError, match="convert_format .*--out_file_format=array_record") as e:
    sources.load_tfds_pairs_source("tiny_photos", data_dir=str(tmp_path),
                                      image_key="image", caption_key="label")
  assert "\n" not in str(e.value)
