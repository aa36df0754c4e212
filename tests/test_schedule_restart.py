"""config.schedule_start_step: the schedule restarts at that step (Tri-Net's rounds)."""

import math

import ml_collections
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.train.optim import make_schedule


def _config(**overrides):
  c = ml_collections.ConfigDict(dict(learning_rate=0.1, schedule="cosine", warmup_steps=0,
                                     lr_decay_at=(0.5, 0.75), lr_decay_factor=0.1,
                                     schedule_start_step=0))
  c.update(overrides)
  return c


def test_cosine_restarts_at_start_step():
  # Round of steps 600..900 after 600 init steps: lr = 0.1 * (1 + cos(pi * (s - 600) / 300)) / 2.
  schedule = make_schedule(_config(schedule_start_step=600), 900)
  for step in (0, 300, 600, 675, 750, 899):
    t = max(step - 600, 0) / 300
    want = 0.1 * (1 + math.cos(math.pi * t)) / 2
    np.testing.assert_allclose(float(schedule(step)), want, rtol=1e-6, atol=1e-8)


def test_warmup_restarts_too():
  schedule = make_schedule(_config(schedule_start_step=100, warmup_steps=10), 200)
  np.testing.assert_allclose(float(schedule(105)), 0.05, rtol=1e-6)  # half-way up the ramp
  np.testing.assert_allclose(float(schedule(110)), 0.1, rtol=1e-6)


def test_zero_start_is_the_plain_schedule():
  a, b = make_schedule(_config(), 500), make_schedule(_config(schedule_start_step=0), 500)
  for step in (0, 123, 499):
    assert float(a(step)) == float(b(step))


def test_start_past_the_end_is_refused():
  with pytest.raises(UserError, match="schedule_start_step=500 must be below"):
    make_schedule(_config(schedule_start_step=500), 500)
