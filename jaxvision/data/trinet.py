"""Tri-Net's tf.data side: the round files, the round's training stream, the pool's eval views.

Between rounds Tri-Net's objective (jaxvision/objectives/trinet_rounds.py) writes, for every
training example of the next round, a soft target per head and a 0/1 weight per head into a
round file (WORKDIR/trinet/round_RR.npz); its phase hands that path to the 'trinet_round'
stream, which serves {'image', 'targets': (B, 3, C), 'weights': (B, 3)}. The true labels of
the examples are never read here (keep_label=False).
"""

import io

import numpy as np
import tensorflow as tf

from jaxvision import paths
from jaxvision.data import pipeline, views
from jaxvision.data import semi as semi_data
from jaxvision.errors import UserError
from jaxvision.settings.semi import SemiSettings


def read_round_file(path: str) -> dict:
  """A Tri-Net round file: 'index' (M,) train indices, 'targets' (M, 3, C), 'weights' (M, 3)."""
  if not path or not paths.exists(path):
    raise UserError(f"Tri-Net round file {path!r} not found; train Tri-Net with "
                    "jaxvision train --config ... --workdir ..., which writes each round's "
                    "file before the round's first step")
  with paths.local_open(path, "rb") as f:
    data = io.BytesIO(f.read())  # np.load wants a seekable file; an object stream is not
  with np.load(data) as f:
    return {k: f[k] for k in ("index", "targets", "weights")}


def write_round_file(path: str, index, targets, weights) -> None:
  order = np.argsort(index, kind="stable")
  buffer = io.BytesIO()
  np.savez(buffer, index=np.asarray(index)[order].astype(np.int64),
           targets=np.asarray(targets, np.float32)[order],
           weights=np.asarray(weights, np.float32)[order])
  paths.makedirs(path.rsplit("/", 1)[0] if "/" in path else ".")
  # written beside and moved: a round file that exists is whole, so a killed run that
  # resumes reuses it and never reads half of one
  paths.write_bytes(path + ".tmp", buffer.getvalue())
  paths.move(path + ".tmp", path)


def eval_batches(images, data_config, batch: int):
  """Numpy batches of `images` (uint8 NHWC) through the eval view: the pool the heads predict."""
  view = views.single_view(data_config, train=False)
  zero_seed = tf.zeros([2], tf.int64)
  ds = tf.data.Dataset.from_tensor_slices(images).map(
      lambda im: view({"image": im, "label": tf.constant(0, tf.int32)}, zero_seed)["image"])
  return ds.batch(batch).as_numpy_iterator()


def trinet_round_stream(source, config, *, round_file, semi: SemiSettings, pi: bool,
                        local_batch, seed, start_step, process_index, process_count):
  """{'image': (B, H, W, C), 'targets': (B, 3, C), 'weights': (B, 3)} of one round.

  The examples are `round_file`'s (the phase's stream argument); their true labels are left
  out (keep_label=False), so pseudo-labeled examples carry only their pseudo-labels.
  With `pi` (trinet.pi_weight > 0: Tri-Net + Pi) the batch also carries, as the MixMatch stream's,
  'unlabeled_image' (B, mu * K, H, W, C): K weak views of B * mu images drawn from the whole
  unlabeled set (no labels).
  """
  data = read_round_file(round_file)
  labeled, unlabeled = semi_data.split_indices(source, semi)
  semi_data.audit_split(source, semi, labeled, process_index)
  subset = semi_data.subset_source(source, data["index"], keep_label=False, tag="trinet_round",
                              extra={"targets": data["targets"], "weights": data["weights"]})
  view = views.single_view(config.data, train=True)

  def fn(example, example_seed):
    image = view({"image": example["image"], "label": tf.constant(0, tf.int32)},
                 example_seed)["image"]
    return {"image": image, "targets": example["targets"], "weights": example["weights"]}

  common = dict(start_step=start_step, process_index=process_index,
                process_count=process_count)
  rounds = pipeline.train_batches(subset, fn, local_batch=local_batch, seed=seed, **common)
  if not pi:
    return rounds
  mu, k = semi.unlabeled_ratio, semi.num_augment
  if mu < 1 or k != 2:
    raise UserError(f"Tri-Net + Pi compares two views: set semi.num_augment=2 and "
                    f"semi.unlabeled_ratio >= 1 (got {k} and {mu})")
  unl = pipeline.train_batches(
      semi_data.subset_source(source, unlabeled, keep_label=False, tag="unlabeled"),
      semi_data.weak_views(config.data, k), local_batch=local_batch * mu,
      seed=seed + semi_data.UNLABELED_SEED_OFFSET, **common)
  return semi_data.zip_unlabeled(rounds, unl, mu * k)
