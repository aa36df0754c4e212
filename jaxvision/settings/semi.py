"""The labeled/unlabeled split settings semi-supervised methods share (config.semi)."""

import dataclasses

from jaxvision.settings import from_block


@dataclasses.dataclass(frozen=True)
class SemiSettings:
  labels_per_class: int = 40
  split_seed: int = 0
  unlabeled_ratio: int = 1   # mu: unlabeled images per labeled one in a batch
  num_augment: int = 2       # K: weak views of each unlabeled image
  audit_dir: str = ""        # where labeled_indices.json goes; "": the run's workdir

  @classmethod
  def from_config(cls, config) -> "SemiSettings":
    s = from_block(cls, config, "semi")
    return dataclasses.replace(
        s, labels_per_class=int(s.labels_per_class), split_seed=int(s.split_seed),
        unlabeled_ratio=int(s.unlabeled_ratio), num_augment=int(s.num_augment),
        audit_dir=s.audit_dir or "")

  def in_workdir(self, workdir: str) -> "SemiSettings":
    """These settings with the labeled subset audited in `workdir` unless audit_dir says
    where (semi-supervised streams write labeled_indices.json beside the checkpoints, so
    every run can be audited)."""
    return dataclasses.replace(self, audit_dir=self.audit_dir or workdir)
