"""Tri-Net's settings (config.trinet): the defaults are Tri-Net's as ModSSC's reimplementation
reads the paper (see jaxvision/objectives/trinet_rounds.py for what each one does)."""

import dataclasses

from jaxvision.errors import UserError
from jaxvision.settings import from_block


@dataclasses.dataclass(frozen=True)
class TriNetSettings:
  rounds: int = 4
  init_steps: int = 500
  steps_per_round: int = 250
  sigma0: float = 0.95
  sigma_os: float = 0.25
  sigma_decay: float = 0.05
  smear_std: float = 0.05
  pool_base: int = 1000
  fine_tune_every: int = 4
  des_passes: int = 6
  des_max_unstable: float = 1 / 3
  predict_batch: int = 1000
  restart_schedule: bool = False
  pi_weight: float = 0.0
  pi_rampup_steps: int = 0
  class_balance: bool = False
  labeled_share: float = 0.0

  @classmethod
  def from_config(cls, config) -> "TriNetSettings":
    s = from_block(cls, config, "trinet")
    if s.rounds < 0 or s.init_steps <= 0 or s.steps_per_round <= 0:
      raise UserError("trinet.rounds must be >= 0 and trinet.init_steps, "
                      "trinet.steps_per_round positive")
    if not 0.0 <= s.labeled_share < 1.0:
      raise UserError(f"trinet.labeled_share={s.labeled_share} must be in [0, 1): the "
                      "share of a round's training examples that are labeled (0: no repeats)")
    return s
