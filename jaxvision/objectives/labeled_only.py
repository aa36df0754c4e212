"""Supervised training on the labeled subset of a semi-supervised split: the baseline.

The same loss as `supervised`, fed by the 'semi_labeled' stream (jaxvision/data/semi.py), so
the baseline sees exactly the labeled examples (config.semi) that MixMatch and Tri-Net see,
with the same augmentation, and nothing of the unlabeled data.
"""

import dataclasses

from jaxvision.objectives.supervised import Supervised


@dataclasses.dataclass(frozen=True)
class SupervisedLabeled(Supervised):
  train_stream = "semi_labeled"
  evaluation = "classification"
