"""A validation split carved from the training split, for every choice made during a run.

Selections (recipes, learning rates, which step is best) must not see the test split: with
`data.validation_examples` = N (or a fraction in (0, 1)) the run holds out N training
examples, drawn by `data.validation_seed`, as a 'validation' split; training reads only the
rest, periodic evaluation reads the validation split, and the test split is evaluated once,
at the end (jaxvision/train/loop.py). The draw depends only on the train split's size and
the seed, not on config.seed, so the seeds of one recipe share one validation set.

It is a view through the parent's reader (readers.SubsetReader): nothing is copied or read
here, and a host still reads only the examples it uses.
"""

import dataclasses

import numpy as np

from jaxvision.data import readers
from jaxvision.errors import UserError


def validation_count(requested, num_train: int) -> int:
  """The number of held-out examples: a count, or a fraction of the train split."""
  if isinstance(requested, bool) or not isinstance(requested, (int, float)):
    raise UserError(f"data.validation_examples must be a count or a fraction in (0, 1), "
                    f"got {requested!r}")
  if isinstance(requested, float) and 0.0 < requested < 1.0:
    count = int(round(requested * num_train))
  elif requested == int(requested) and requested >= 0:
    count = int(requested)
  else:
    raise UserError(f"data.validation_examples must be a count or a fraction in (0, 1), "
                    f"got {requested!r}")
  if count >= num_train:
    raise UserError(f"data.validation_examples={requested!r} leaves no training examples "
                    f"(the train split has {num_train:,}); hold out fewer")
  return count


def split_train(num_train: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(train indices, validation indices) of a train split of `num_train`, both sorted."""
  held = np.sort(np.random.default_rng(seed).permutation(num_train)[:count])
  keep = np.ones(num_train, bool)
  keep[held] = False
  return np.flatnonzero(keep), held


def hold_out_validation(source, requested, seed: int):
  """`source` with 'validation' carved from 'train' (replacing a native 'validation' split)."""
  num_train = source.num_examples["train"]
  count = validation_count(requested, num_train)
  if count == 0:
    return source
  train_idx, val_idx = split_train(num_train, count, seed)
  indices = {"train": train_idx, "validation": val_idx}

  def make_reader(split):
    if split in indices:
      return readers.SubsetReader(source.reader("train"), indices[split])
    return source.reader(split)

  num_examples = dict(source.num_examples, train=len(train_idx), validation=len(val_idx))
  carved = dataclasses.replace(
      source, name=f"{source.name}[val={count}@{seed}]", num_examples=num_examples,
      make_dataset=None, make_reader=make_reader, held_out=count, _readers={})
  if hasattr(source, "has_captions"):  # set on caption sources after construction
    carved.has_captions = source.has_captions
  return carved
