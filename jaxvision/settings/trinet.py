"""Tri-Net's settings (config.trinet); what each one does: jaxvision/objectives/trinet_rounds.py.

Where the defaults come from (BUILD_NOTES.md, session 12, has the table): `rounds` = 30 is
the paper's ("T is set to be 30 in all experiments", its Parameters paragraph), as are the
pool schedule 1000 * 2^t and lowering sigma only once the pool is all of U. The thresholds,
smearing std and dropout editing (sigma0 0.95, sigma_os 0.25, sigma_decay 0.05, std 0.05,
K = 6 passes, at most 1/3 unstable) are ModSSC's reimplementation's (TriNetSpec), which its
own documentation marks not claimable (its table-level constants "still need deeper
extraction"); another reimplementation (xrn1997/iToLoc, MNIST) uses sigma0 0.999, sigma_os
0.01, std 0.001 and K = 9. The paper's own text for them could not be read (#25)."""

import dataclasses

from jaxvision.errors import UserError
from jaxvision.settings import from_block


@dataclasses.dataclass(frozen=True)
class TriNetSettings:
  rounds: int = 30  # the paper's T
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
