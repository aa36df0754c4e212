"""The train state: a plain pytree, so Orbax saves it and jit shards it without special cases."""

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  model_state: Any  # mutable collections, e.g. {'batch_stats': ...}; {} if none
  opt_state: Any


def create_state(model, tx: optax.GradientTransformation, rng, input_shape,
                 dtype=jnp.float32) -> TrainState:
  """Initialises parameters on a (2, H, W, C) dummy batch; call under jit to place them."""
  variables = model.init({"params": rng, "dropout": rng},
                         jnp.zeros((2, *input_shape), dtype), train=False)
  variables = dict(variables)
  params = variables.pop("params")
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=variables,
                    opt_state=tx.init(params))


def count_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))
