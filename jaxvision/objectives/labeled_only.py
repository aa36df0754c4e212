"""Supervised training on the labeled subset of a semi-supervised split: the baseline.

The same loss as `supervised`, fed by the 'semi_labeled' stream (jaxvision/data/semi.py), so
the baseline sees exactly the labeled examples (config.semi) that MixMatch and Tri-Net see,
with the same augmentation, and nothing of the unlabeled data.
"""

import dataclasses

from jaxvision.objectives.supervised import Supervised
from jaxvision.settings.semi import SemiSettings


@dataclasses.dataclass(frozen=True)
class SupervisedLabeled(Supervised):
  semi: SemiSettings = SemiSettings()
  train_stream = "semi_labeled"
  evaluation = "classification"

  @classmethod
  def from_config(cls, model, config):
    return dataclasses.replace(super().from_config(model, config),
                               semi=SemiSettings.from_config(config))

  def stream_args(self, workdir: str) -> dict:
    return {"semi": self.semi.in_workdir(workdir)}
