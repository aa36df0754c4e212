"""Optax optimisers and learning-rate schedules named by the config."""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxvision.errors import UserError

SCHEDULES = ("constant", "cosine", "step")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "lars")


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
  """The optimiser and schedule keys of a config (defaults: config_defaults.base_config).

  Built from a config by `from_config`, or directly where there is no config (`jaxvision
  bench` times a constant-rate SGD with momentum: the defaults with schedule="constant").
  """

  optimizer: str = "sgd"
  learning_rate: float = 0.1
  momentum: float = 0.9
  nesterov: bool = False
  weight_decay: float = 0.0
  adam_betas: tuple = (0.9, 0.999)
  adam_eps: float = 1e-8
  decay_matrices_only: bool = False
  schedule: str = "cosine"
  warmup_steps: int = 0
  schedule_start_step: int = 0
  lr_decay_at: tuple = (0.5, 0.75)
  lr_decay_factor: float = 0.1

  @classmethod
  def from_config(cls, config) -> "OptimizerSettings":
    if isinstance(config, cls):
      return config
    return cls(**{f.name: config.get(f.name, f.default) for f in dataclasses.fields(cls)})


def make_schedule(config, total_steps: int, start: int | None = None) -> optax.Schedule:
  """config.schedule after config.warmup_steps of linear warm-up from 0.

  start = S > 0 (default: config.schedule_start_step) restarts the schedule at step S: steps
  S..total_steps get the whole schedule (warm-up, decay) as if training began at S. Tri-Net's
  rounds use it (phase_schedule): each round anneals over its own steps.
  """
  config = OptimizerSettings.from_config(config)
  start = int((config.schedule_start_step if start is None else start) or 0)
  if start:
    if not 0 < start < total_steps:
      raise UserError(f"schedule_start_step={start} must be below num_train_steps="
                      f"{total_steps}")
    inner = _make_schedule(config, total_steps - start)
    return lambda count: inner(jnp.maximum(count - start, 0))
  return _make_schedule(config, total_steps)


def phase_schedule(config, phases, total_steps: int) -> optax.Schedule:
  """The learning rate of a run in phases (jaxvision/objectives/phases.py).

  Each phase follows make_schedule over its schedule_span (None: the whole run's); the step
  count picks the phase, so one compiled step serves every phase. One phase: the run's own
  schedule, unchanged.
  """
  parts = [make_schedule(config, *_span(p, total_steps)) for p in phases]
  if len(parts) == 1:
    return parts[0]
  # optax counts updates from 0: the update of step s + 1 reads count s, which lies in the
  # phase with start_step <= s < end_step.
  starts = jnp.asarray([p.start_step for p in phases[1:]], jnp.int32)
  branches = [lambda count, f=f: jnp.asarray(f(count), jnp.float32) for f in parts]
  return lambda count: jax.lax.switch(jnp.sum(count >= starts), branches, count)


def _span(phase, total_steps):
  if phase.schedule_span is None:
    return total_steps, None
  begin, end = phase.schedule_span
  return end, begin


def _make_schedule(config, total_steps: int) -> optax.Schedule:
  lr = config.learning_rate
  warmup = min(config.warmup_steps, total_steps)
  decay_steps = max(total_steps - warmup, 1)
  if config.schedule == "constant":
    main = optax.constant_schedule(lr)
  elif config.schedule == "cosine":
    main = optax.cosine_decay_schedule(lr, decay_steps)
  elif config.schedule == "step":
    # Decay by config.lr_decay_factor at each fraction of training in config.lr_decay_at
    # (e.g. ResNet on CIFAR: x0.1 at 50% and 75%).
    boundaries = {int(f * decay_steps): config.lr_decay_factor for f in config.lr_decay_at}
    main = optax.piecewise_constant_schedule(lr, boundaries)
  else:
    raise UserError(f"unknown schedule {config.schedule!r}; valid: {', '.join(SCHEDULES)}")
  if warmup == 0:
    return main
  return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])


def _matrices(params):
  return jax.tree.map(lambda p: p.ndim > 1, params)


def _betas(config):
  b1, b2 = config.adam_betas
  return float(b1), float(b2)


def make_optimizer(config, total_steps: int, phases=None):
  """Returns (tx, schedule). Weight decay for SGD is L2 in the gradient, as in the papers.

  With `phases` (a run's phases) the learning rate follows phase_schedule."""
  config = OptimizerSettings.from_config(config)
  if config.learning_rate <= 0:
    raise UserError(f"learning_rate must be positive, got {config.learning_rate}")
  schedule = (phase_schedule(config, phases, total_steps) if phases
              else make_schedule(config, total_steps))
  name, wd = config.optimizer, config.weight_decay
  if name == "sgd":
    tx = optax.chain(optax.add_decayed_weights(wd) if wd else optax.identity(),
                     optax.sgd(schedule, momentum=config.momentum or None,
                               nesterov=config.nesterov))
  elif name == "adam":
    tx = optax.chain(optax.add_decayed_weights(wd) if wd else optax.identity(),
                     optax.adam(schedule, *_betas(config), eps=config.adam_eps))
  elif name == "adamw":
    # decay_matrices_only: no decay on biases, norm gains or scalars such as CLIP's
    # logit_scale (Radford et al. 2021; Loshchilov and Hutter 2019 decay every weight).
    mask = _matrices if config.decay_matrices_only else None
    tx = optax.adamw(schedule, *_betas(config), eps=config.adam_eps,
                     weight_decay=wd, mask=mask)
  elif name == "rmsprop":
    tx = optax.rmsprop(schedule, decay=0.9, momentum=config.momentum, eps=1.0)
  elif name == "lars":
    # SimCLR's LARS (You et al. 2017): trust ratio 0.001 * |w| / |g + wd w|, momentum on the
    # scaled step; biases and BN parameters (every 1-D leaf) get neither weight decay nor
    # the adaptation, as SimCLR's `exclude_from_weight_decay/layer_adaptation`.
    tx = optax.lars(schedule, weight_decay=wd, weight_decay_mask=_matrices,
                    trust_ratio_mask=_matrices, momentum=config.momentum)
  else:
    raise UserError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
  return tx, schedule
