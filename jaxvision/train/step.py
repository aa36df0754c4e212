"""The one train step every method shares, jit-compiled over the device mesh.

Randomness is a function of (seed, step): the step number is folded into the base key inside
the step and split by purpose, so a resumed run draws the same dropout masks.

Gradient accumulation (grad_accum_steps = k > 1) splits the global batch into k equal
micro-batches inside the jitted step and runs them one after another under `lax.scan`, so
activations are held for one micro-batch at a time; the update uses the mean of the k
gradients, which for a mean-reduced loss and a model without batch norm is the gradient of
the whole batch. Micro-batch i holds examples i, i + k, i + 2k, ...: with the batch sharded
on 'data' every device keeps its own rows, so splitting moves no data. Batch norm sees
micro-batches: statistics over B / k examples and k running-average updates per step (what
PyTorch does with accumulation). Dropout gets a different key per micro-batch.

EMA (ema_decay > 0): after the update, ema_params = decay * ema_params + (1 - decay) * params,
in float32 (Polyak and Juditsky 1992; as tf.train.ExponentialMovingAverage without its
num_updates warm-up). The state must have been created with `create_state(..., ema=True)`.
"""

import functools

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxvision.losses import ema_update
from jaxvision.train.loss_scale import scaled, update_loss_scale
from jaxvision.parallel import batch_sharding, replicated_sharding
from jaxvision.parallel.mesh import DATA_AXIS


def _gradients(loss_fn, params, model_state, batch, rng, step):
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  (_, (metrics, model_state)), grads = grad_fn(params, model_state, batch, rng, step)
  return grads, metrics, model_state


def split_micro_batches(batch, steps: int, sharding=None):
  """(B, ...) leaves -> (steps, B // steps, ...), micro-batch i = rows i, i + steps, ..."""
  def split(x):
    if x.shape[0] % steps:
      raise ValueError(f"a batch of {x.shape[0]} does not split into grad_accum_steps={steps} "
                       "equal micro-batches; use a batch size divisible by it")
    x = x.reshape(x.shape[0] // steps, steps, *x.shape[1:]).swapaxes(0, 1)
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)
  return jax.tree.map(split, batch)


def accumulate_gradients(loss_fn, params, model_state, batch, rng, steps: int,
                         micro_sharding=None, *, step):
  """(mean gradient, mean metrics, model_state) over `steps` micro-batches of `batch`.

  `step` (the state's step, before this update) reaches loss_fn as its own argument: ramps
  such as MixMatch's lambda_u read it; every micro-batch of one step gets the same.
  """
  if steps == 1:
    return _gradients(loss_fn, params, model_state, batch, rng, step)
  micro = split_micro_batches(batch, steps, micro_sharding)

  def body(carry, xs):
    grad_sum, state = carry
    index, micro_batch = xs
    grads, metrics, state = _gradients(loss_fn, params, state, micro_batch,
                                       jax.random.fold_in(rng, index), step)
    grad_sum = jax.tree.map(lambda s, g: s + g.astype(jnp.float32), grad_sum, grads)
    return (grad_sum, state), metrics

  zeros = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
  (grad_sum, model_state), metrics = jax.lax.scan(
      body, (zeros, model_state), (jnp.arange(steps), micro))
  grads = jax.tree.map(lambda s, p: (s / steps).astype(p.dtype), grad_sum, params)
  # Equal micro-batches: the mean of per-micro-batch means is the mean over the batch.
  metrics = jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)
  return grads, metrics, model_state


def train_step(state, batch, *, loss_fn, tx, schedule, base_rng, grad_accum_steps=1,
               ema_decay=0.0, micro_sharding=None, skip_nonfinite=False):
  rng = jax.random.fold_in(base_rng, state.step)
  if state.loss_scale is not None:  # float16: see train/loss_scale.py
    loss_fn = scaled(loss_fn, state.loss_scale["scale"])
  grads, metrics, model_state = accumulate_gradients(
      loss_fn, state.params, state.model_state, batch, rng, grad_accum_steps, micro_sharding,
      step=state.step)
  if state.loss_scale is not None:
    scale = state.loss_scale["scale"]
    grads = jax.tree.map(lambda g: (g.astype(jnp.float32) / scale).astype(g.dtype), grads)
    grads_finite = _all_finite(grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  metrics = dict(metrics, learning_rate=jnp.asarray(schedule(state.step), jnp.float32))
  ema_params = state.ema_params
  if ema_decay:
    if ema_params is None:
      raise ValueError("ema_decay > 0 needs a state with ema_params: "
                       "create_state(..., ema=True)")
    ema_params = ema_update(ema_params, params, decay=ema_decay)
  new_state = state.replace(step=state.step + 1, params=params, model_state=model_state,
                            opt_state=opt_state, ema_params=ema_params)
  if skip_nonfinite:
    # A non-finite loss or gradient leaves every part of the state as it was (the step
    # counter still advances, so the data stream stays aligned); 'skipped' counts it.
    finite = jnp.isfinite(metrics["loss"]) & _all_finite(grads)
    new_state = _keep_if(finite, new_state, state)
    metrics = dict(metrics, skipped=1.0 - finite.astype(jnp.float32))
  if state.loss_scale is not None:
    # An overflow under the loss scale is not divergence: skip the update, halve the scale.
    new_state = _keep_if(grads_finite, new_state, state).replace(
        loss_scale=update_loss_scale(state.loss_scale, grads_finite))
    metrics = dict(metrics, loss_scale=state.loss_scale["scale"],
                   overflow=1.0 - grads_finite.astype(jnp.float32))
  return new_state, metrics


def _all_finite(tree):
  return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(tree)]))


def _keep_if(ok, new_state, state):
  """new_state where `ok`, else `state` -- with the step counter advanced either way."""
  kept = jax.tree.map(lambda new, old: jnp.where(ok, new, old),
                      new_state.replace(step=state.step), state)
  return kept.replace(step=state.step + 1)


def compile_train_step(mesh, *, loss_fn, tx, schedule, base_rng, grad_accum_steps: int = 1,
                       ema_decay: float = 0.0, skip_nonfinite: bool = False):
  """jit with the state replicated and the batch sharded on 'data'; the state is donated.

  grad_accum_steps: micro-batches per step (the global batch must divide into them, and
  each device's share of the batch too, for the split to stay local). ema_decay: 0 disables
  the parameter EMA; else in (0, 1).
  """
  if int(grad_accum_steps) != grad_accum_steps or grad_accum_steps < 1:
    raise ValueError(f"grad_accum_steps must be a positive integer, got {grad_accum_steps!r}")
  if not 0.0 <= ema_decay < 1.0:
    raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay!r}")
  micro_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
  step = functools.partial(train_step, loss_fn=loss_fn, tx=tx, schedule=schedule,
                           base_rng=base_rng, grad_accum_steps=int(grad_accum_steps),
                           ema_decay=float(ema_decay), micro_sharding=micro_sharding,
                           skip_nonfinite=bool(skip_nonfinite))
  replicated = replicated_sharding(mesh)
  return jax.jit(step, in_shardings=(replicated, batch_sharding(mesh)),
                 out_shardings=(replicated, replicated), donate_argnums=(0,))
