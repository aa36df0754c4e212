"""MixMatch's settings (config.mixmatch): the paper's CIFAR-10 values as defaults
(jaxvision/objectives/mixmatch.py says what each one does)."""

import dataclasses

from jaxvision.errors import UserError
from jaxvision.settings import from_block


@dataclasses.dataclass(frozen=True)
class MixMatchSettings:
  temperature: float = 0.5
  alpha: float = 0.75
  lambda_u: float = 75.0
  rampup_steps: int = 16384          # the reference's 16 "kimg" epochs of 1024 steps
  guess_updates_bn: bool = True
  per_example_lambda: bool = True
  distribution_alignment: bool = False
  alignment_window: int = 128        # ReMixMatch's

  @classmethod
  def from_config(cls, config) -> "MixMatchSettings":
    s = from_block(cls, config, "mixmatch")
    s = dataclasses.replace(
        s, temperature=float(s.temperature), alpha=float(s.alpha), lambda_u=float(s.lambda_u),
        rampup_steps=int(s.rampup_steps), guess_updates_bn=bool(s.guess_updates_bn),
        per_example_lambda=bool(s.per_example_lambda),
        distribution_alignment=bool(s.distribution_alignment),
        alignment_window=int(s.alignment_window))
    if s.distribution_alignment and s.alignment_window < 1:
      raise UserError(f"mixmatch.alignment_window={s.alignment_window}: distribution "
                      "alignment averages that many batches; use 1 or more (ReMixMatch: 128)")
    return s
