"""The train state: a plain pytree, so Orbax saves it and jit shards it without special cases."""

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from jaxvision.train.loss_scale import init_loss_scale


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  model_state: Any  # mutable collections, e.g. {'batch_stats': ...}; {} if none
  opt_state: Any
  # Exponential moving average of `params` (Polyak averaging), kept by the train step when
  # it is given ema_decay > 0; None when disabled.
  ema_params: Any = None
  # float16 training: {'scale', 'good_steps'} of the dynamic loss scale (train/loss_scale.py);
  # None otherwise.
  loss_scale: Any = None


def _to_state_dict(state: TrainState) -> dict:
  # Without EMA the checkpoint holds exactly the four entries it always held, so checkpoints
  # written before EMA existed restore unchanged (and vice versa).
  fields = ("step", "params", "model_state", "opt_state")
  out = {k: flax.serialization.to_state_dict(getattr(state, k)) for k in fields}
  if state.ema_params is not None:
    out["ema_params"] = flax.serialization.to_state_dict(state.ema_params)
  if state.loss_scale is not None:
    out["loss_scale"] = flax.serialization.to_state_dict(state.loss_scale)
  return out


def _from_state_dict(state: TrainState, restored: dict) -> TrainState:
  restored = dict(restored)
  updates = {}
  for name in ("step", "params", "model_state", "opt_state"):
    if name not in restored:
      raise ValueError(f"missing field {name} in a TrainState state dict")
    updates[name] = flax.serialization.from_state_dict(getattr(state, name),
                                                       restored.pop(name), name=name)
  ema = restored.pop("ema_params", None)
  loss_scale = restored.pop("loss_scale", None)
  if restored:
    raise ValueError(f"unknown field(s) {', '.join(restored)} in a TrainState state dict")
  if state.ema_params is not None:
    if ema is None:
      raise ValueError("the state expects ema_params but the state dict has none")
    updates["ema_params"] = flax.serialization.from_state_dict(state.ema_params, ema,
                                                               name="ema_params")
  if state.loss_scale is not None:
    if loss_scale is None:
      raise ValueError("the state expects a loss_scale but the state dict has none")
    updates["loss_scale"] = flax.serialization.from_state_dict(state.loss_scale, loss_scale,
                                                               name="loss_scale")
  return state.replace(**updates)


flax.serialization.register_serialization_state(TrainState, _to_state_dict, _from_state_dict,
                                                 override=True)


def create_state(model, tx: optax.GradientTransformation, rng, input_shape,
                 dtype=jnp.float32, *, ema: bool = False, inputs=None,
                 loss_scale: bool = False) -> TrainState:
  """Initialises parameters on a (2, H, W, C) dummy batch; call under jit to place them.

  inputs: the positional model inputs to initialise on instead (e.g. images and token ids).
  ema=True starts `ema_params` as a copy of the initial parameters (for ema_decay > 0).
  loss_scale=True (float16 compute) adds a dynamic loss scale.
  """
  if inputs is None:
    inputs = (jnp.zeros((2, *input_shape), dtype),)
  variables = model.init({"params": rng, "dropout": rng}, *inputs, train=False)
  variables = dict(variables)
  params = variables.pop("params")
  ema_params = jax.tree.map(jnp.copy, params) if ema else None
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=variables,
                    opt_state=tx.init(params), ema_params=ema_params,
                    loss_scale=init_loss_scale() if loss_scale else None)


def eval_params(state: TrainState):
  """The parameters to evaluate: the EMA when the run keeps one, else the trained ones."""
  return state.ema_params if state.ema_params is not None else state.params


def eval_variables(state: TrainState) -> dict:
  """{'params': the parameters to evaluate, **model_state}: what every evaluation applies the
  model with, so reports, evaluators and the loop cannot disagree on the weights."""
  return {"params": eval_params(state), **state.model_state}


def count_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))
