"""Semi-supervised data: a balanced labeled subset, the rest as unlabeled data, and their streams
(Tri-Net's round files and stream: data/trinet.py).

Settings: a jaxvision.settings.semi.SemiSettings (config.semi: its defaults fill what the
block leaves out, an unknown key is an error), which the objective hands to its stream:
  labels_per_class  labeled examples per class, chosen from the train split by `split_seed`
  split_seed        seed of that choice (independent of the run seed: every method compared on
                    one split sees the same labels)
  unlabeled_ratio   mu: unlabeled examples per labeled example in a batch (MixMatch: 1)
  num_augment       K: weak views of each unlabeled example (MixMatch: 2)
  audit_dir         if set, process 0 writes AUDIT_DIR/labeled_indices.json there; the
                    objectives hand their streams the workdir here when the config leaves
                    it empty (SemiSettings.in_workdir)

The unlabeled examples never carry their labels: the unlabeled source's dataset has the
single key 'image' (tests/test_semi_data.py checks it), so an objective cannot read them.

Streams follow jaxvision/data/streams.py: a function of (seed, step) built on
pipeline.train_batches, each with its own global order (the unlabeled one seeded apart, its
global batch mu times the labeled one), every leaf with leading dimension local_batch.
The unlabeled views are reshaped to (local_batch, mu * K, H, W, C) so the loop can shard
the leading dimension like any other batch; rows i of the two parts travel together.
"""

import json

import numpy as np
import tensorflow as tf

from jaxvision.data import pipeline, readers, views
from jaxvision.data.sources import Source
from jaxvision import paths
from jaxvision.errors import UserError
from jaxvision.settings.semi import SemiSettings

SPLIT = "train"
# The two streams must not share augmentation randomness or shuffle order.
UNLABELED_SEED_OFFSET = 1_000_003


# ------------------------------------------------------------------------------- the split


_ARRAYS: dict = {}  # (source name, size) -> arrays; a Source is not hashable by value


def _load_arrays(source):
  images, labels = [], []
  for batch in source.dataset(SPLIT).batch(4096).as_numpy_iterator():
    images.append(batch["image"])
    labels.append(batch["label"])
  return np.concatenate(images), np.concatenate(labels).astype(np.int32)


def train_arrays(source: Source):
  """(images uint8 NHWC, labels int32) of the whole train split, in the source's fixed order.

  Only for sources that fit in memory (Fashion-MNIST, CIFAR-10); cached per process.
  """
  if not source.in_memory:
    raise UserError(f"{source.name} is too large to hold in memory for a labeled/unlabeled "
                    "split; use a smaller dataset (e.g. tfds:cifar10)")
  key = (source.name, source.num_examples[SPLIT])
  if key not in _ARRAYS:
    if len(_ARRAYS) >= 2:
      _ARRAYS.clear()
    _ARRAYS[key] = _load_arrays(source)
  return _ARRAYS[key]


def choose_labeled(labels: np.ndarray, *, labels_per_class: int, seed: int,
                   num_classes: int) -> np.ndarray:
  """Sorted indices of `labels_per_class` examples of every class, drawn by `seed`.

  Each class draws from its own permutation, so the choice for a class does not depend on
  how many examples the other classes have.
  """
  rng = np.random.default_rng(seed)
  chosen = []
  for c in range(num_classes):
    members = np.flatnonzero(labels == c)
    if len(members) < labels_per_class:
      raise UserError(f"class {c} has {len(members)} training examples, fewer than "
                      f"semi.labels_per_class={labels_per_class}; lower it")
    chosen.append(members[rng.permutation(len(members))[:labels_per_class]])
  return np.sort(np.concatenate(chosen))


def split_indices(source: Source, semi: SemiSettings):
  """(labeled indices, unlabeled indices) of the train split for the `semi` settings."""
  if semi.labels_per_class <= 0:
    raise UserError(f"semi.labels_per_class must be positive, got {semi.labels_per_class}")
  labels = source.labels(SPLIT)
  labeled = choose_labeled(labels, labels_per_class=semi.labels_per_class,
                           seed=semi.split_seed, num_classes=source.num_classes)
  unlabeled = np.setdiff1d(np.arange(len(labels)), labeled)
  return labeled, unlabeled


def write_labeled_indices(directory: str, source: Source, indices: np.ndarray, *,
                          labels_per_class: int, split_seed: int) -> str:
  """DIRECTORY/labeled_indices.json: which train examples were labeled, for an audit."""
  labels = source.labels(SPLIT)
  path = paths.join(directory, "labeled_indices.json")
  record = {"dataset": source.name, "split": SPLIT, "labels_per_class": labels_per_class,
            "split_seed": split_seed, "num_labeled": int(len(indices)),
            "indices": [int(i) for i in indices],
            "labels": [int(labels[i]) for i in indices]}
  paths.makedirs(directory)
  paths.write_text(path, json.dumps(record))  # whole or not at all, local or gs://
  return path


def audit_split(source, semi: SemiSettings, labeled, process_index):
  if semi.audit_dir and process_index == 0:
    write_labeled_indices(semi.audit_dir, source, labeled,
                          labels_per_class=semi.labels_per_class, split_seed=semi.split_seed)


def subset_source(source: Source, indices: np.ndarray, *, keep_label: bool,
                  extra: dict | None = None, tag: str = "subset") -> Source:
  """A Source whose 'train' split is the train examples at `indices` (in that order).

  It reads through the parent's reader (readers.SubsetReader), so only the examples a host
  uses are read and decoded. keep_label=False drops the label key: the unlabeled data then
  cannot leak its labels. `extra` adds per-example arrays aligned with `indices` (e.g.
  Tri-Net's pseudo-labels).
  """
  for name, array in (extra or {}).items():
    if len(array) != len(indices):
      raise ValueError(f"extra array {name!r} has {len(array)} rows for {len(indices)} indices")
  base = source.reader(SPLIT)

  def make_reader(split):
    del split
    return readers.SubsetReader(base, indices, keep_label=keep_label, extra=extra)

  return Source(name=f"{source.name}[{tag}]", num_classes=source.num_classes,
                class_names=source.class_names, image_shape=source.image_shape,
                num_examples={SPLIT: len(indices)}, make_reader=make_reader,
                in_memory=source.in_memory, bad_images=source.bad_images)


# ------------------------------------------------------------------------------- the views


def weak_views(data_config, num_views: int):
  """Example without label -> {'image': (K, H, W, C)}: K independent weak augmentations.

  MixMatch's augmentation is data.augment (flip + crop with padding in its configs); each
  view has its own seed split from the example's seed.
  """
  view = views.single_view(data_config, train=True)

  def fn(example, seed):
    seeds = tf.random.experimental.stateless_split(seed, num=num_views)
    dummy = tf.constant(0, tf.int32)  # single_view wants a label; it is never used here
    images = [view({"image": example["image"], "label": dummy}, seeds[k])["image"]
              for k in range(num_views)]
    return {"image": tf.stack(images)}

  return fn


def zip_unlabeled(labeled, unlabeled, per_row: int):
  # The step a batch is for reaches the loss as loss_fn's own `step` argument, not in it.
  for lab, unl in zip(labeled, unlabeled):
    u = unl["image"]
    b = lab["image"].shape[0]
    # (B * mu, K, H, W, C) -> (B, mu * K, H, W, C): row i of both parts on the same device.
    yield dict(lab, unlabeled_image=u.reshape(b, per_row, *u.shape[2:]))


# ------------------------------------------------------------------------------- streams


def labeled_stream(source, config, *, semi: SemiSettings, local_batch, seed, start_step,
                   process_index, process_count):
  """Supervised training on the labeled subset only: the baseline of the comparison."""
  labeled, _ = split_indices(source, semi)
  audit_split(source, semi, labeled, process_index)
  return pipeline.train_batches(
      subset_source(source, labeled, keep_label=True, tag="labeled"),
      views.single_view(config.data, train=True), local_batch=local_batch, seed=seed,
      start_step=start_step, process_index=process_index, process_count=process_count)


def mixmatch_stream(source, config, *, semi: SemiSettings, local_batch, seed, start_step,
                    process_index, process_count):
  """{'image': (B, H, W, C), 'label': (B,), 'unlabeled_image': (B, mu * K, H, W, C)}."""
  mu, k = semi.unlabeled_ratio, semi.num_augment
  if mu < 1 or k < 1:
    raise UserError(f"semi.unlabeled_ratio and semi.num_augment must be >= 1, got {mu}, {k}")
  labeled, unlabeled = split_indices(source, semi)
  audit_split(source, semi, labeled, process_index)
  common = dict(start_step=start_step, process_index=process_index,
                process_count=process_count)
  lab = pipeline.train_batches(
      subset_source(source, labeled, keep_label=True, tag="labeled"),
      views.single_view(config.data, train=True), local_batch=local_batch, seed=seed,
      **common)
  unl = pipeline.train_batches(
      subset_source(source, unlabeled, keep_label=False, tag="unlabeled"),
      weak_views(config.data, k), local_batch=local_batch * mu,
      seed=seed + UNLABELED_SEED_OFFSET, **common)
  return zip_unlabeled(lab, unl, mu * k)
