"""Phases: Tri-Net's rounds as the loop sees them, and the learning rate over phases."""

import math

import jax
import numpy as np
import optax
import pytest
from ml_collections import ConfigDict

from jaxvision.objectives import run_phases
from jaxvision.objectives.phases import Phase, check, phase_at
from jaxvision.objectives.trinet import TriNetObjective
from jaxvision.settings.trinet import TriNetSettings
from jaxvision.train.optim import phase_schedule


def test_trinet_declares_one_phase_per_round():
  objective = TriNetObjective(model=None, settings=TriNetSettings(
      rounds=2, init_steps=50, steps_per_round=20, restart_schedule=True))
  phases = run_phases(objective, ConfigDict(), "/w", total_steps=999)  # the rounds' length wins
  assert [(p.start_step, p.end_step) for p in phases] == [(0, 50), (50, 70), (70, 90)]
  assert [p.schedule_span for p in phases] == [(0, 50), (50, 70), (70, 90)]
  assert [dict(p.stream_args)["round_file"] for p in phases] == [
      "/w/trinet/round_00.npz", "/w/trinet/round_01.npz", "/w/trinet/round_02.npz"]
  # without the restart each round's schedule runs from step 0 to the round's end
  objective = TriNetObjective(model=None, settings=TriNetSettings(
      rounds=1, init_steps=50, steps_per_round=20))
  assert [p.schedule_span for p in run_phases(objective, ConfigDict(), "/w", 0)] == [
      (0, 50), (0, 70)]
  # the phase a run at step s continues is the one that trains step s + 1
  assert [phase_at(phases, s).name for s in (0, 49, 50, 69, 70, 89)] == [
      "round 0", "round 0", "round 1", "round 1", "round 2", "round 2"]
  assert phase_at(phases, 90) is None


def test_phases_must_tile_the_steps():
  with pytest.raises(ValueError, match="from step 11"):
    check([Phase("a", 0, 10, "single"), Phase("b", 11, 5, "single")])


def test_phase_schedule_is_each_phases_cosine():
  config = ConfigDict({"learning_rate": 0.1, "schedule": "cosine"})
  phases = [Phase("a", 0, 10, "s", schedule_span=(0, 10)),
            Phase("b", 10, 4, "s", schedule_span=(10, 14)),
            Phase("c", 14, 4, "s", schedule_span=(0, 18))]
  fn = jax.jit(phase_schedule(config, phases, 18))
  for count in range(18):
    if count < 10:
      t = count / 10
    elif count < 14:
      t = (count - 10) / 4
    else:
      t = count / 18
    # float32 inside: about 1e-8 of absolute rounding near the end of a cosine
    assert float(fn(count)) == pytest.approx(0.05 * (1 + math.cos(math.pi * t)), abs=1e-8)
  # one implicit phase: the run's own schedule, the same function of the count as before
  plain = phase_schedule(config, [Phase("train", 0, 18, "s")], 18)
  reference = optax.cosine_decay_schedule(0.1, 18)
  np.testing.assert_array_equal([plain(c) for c in range(18)],
                                [reference(c) for c in range(18)])
