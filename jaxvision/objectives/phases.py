"""Phases: the stretches of a run the train loop drives, each on its own stream.

Most methods train on one stream from the first step to the last: one implicit phase. A
method whose training set changes during the run declares its phases instead (Tri-Net: the
initialisation and each round of tri-training, every round on its own pseudo-labeled set) by
an objective method `phases(config, workdir) -> list[Phase]`. The loop (train/loop.py) runs
them in order: at the start of a phase -- on a fresh start and on a resume inside it alike --
it calls the phase's `prepare(exp, variables)` with the variables an evaluation would apply
(e.g. Tri-Net's pseudo-labelling, which writes the round file and reuses it when it is there
already), then builds the phase's stream at the current step. The checkpoint, the log and the
evaluation close every phase, so a resume never straddles two. Nothing in the config is
rewritten: the phases are a function of it.

Pure Python (no jax, no TensorFlow): objectives import it.
"""

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Phase:
  name: str
  start_step: int                    # steps trained before the phase's first one
  num_steps: int
  stream: str                        # a key of jaxvision.data.streams.STREAMS
  stream_args: tuple = ()            # (keyword, value) pairs the stream receives
  # The learning-rate schedule this phase follows: the config's schedule run from step
  # schedule_span[0] to schedule_span[1] (train/optim.make_schedule); None: over the whole run.
  schedule_span: tuple | None = None
  prepare: Callable | None = None    # prepare(exp, variables), before the phase's first step

  @property
  def end_step(self) -> int:
    return self.start_step + self.num_steps


def check(phases) -> None:
  """Phases must tile steps 1..N from the first: the loop finds a step's phase by position."""
  step = 0
  for p in phases:
    if p.start_step != step or p.num_steps <= 0:
      raise ValueError(f"phase {p.name!r} covers steps {p.start_step + 1}..{p.end_step}; "
                       f"expected a positive stretch from step {step + 1}")
    step = p.end_step


def phase_at(phases, step: int):
  """The phase that trains step + 1 (the phase a run at `step` continues); None at the end."""
  for p in phases:
    if p.start_step <= step < p.end_step:
      return p
  return None
