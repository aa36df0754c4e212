"""The one train step every method shares, jit-compiled over the device mesh.

Randomness is a function of (seed, step): the step number is folded into the base key inside
the step and split by purpose, so a resumed run draws the same dropout masks.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from jaxvision.parallel import batch_sharding, replicated_sharding


def train_step(state, batch, *, loss_fn, tx, schedule, base_rng):
  rng = jax.random.fold_in(base_rng, state.step)
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  (_, (metrics, model_state)), grads = grad_fn(state.params, state.model_state, batch, rng)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  metrics = dict(metrics, learning_rate=jnp.asarray(schedule(state.step), jnp.float32))
  new_state = state.replace(step=state.step + 1, params=params, model_state=model_state,
                            opt_state=opt_state)
  return new_state, metrics


def compile_train_step(mesh, *, loss_fn, tx, schedule, base_rng):
  """jit with the state replicated and the batch sharded on 'data'; the state is donated."""
  step = functools.partial(train_step, loss_fn=loss_fn, tx=tx, schedule=schedule,
                           base_rng=base_rng)
  replicated = replicated_sharding(mesh)
  return jax.jit(step, in_shardings=(replicated, batch_sharding(mesh)),
                 out_shardings=(replicated, replicated), donate_argnums=(0,))
