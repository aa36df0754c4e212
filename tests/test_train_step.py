"""Gradient accumulation and the parameter EMA of the shared train step, against closed forms."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxvision.checkpoint import Checkpointer
from jaxvision.parallel import global_batch, make_mesh, replicated_sharding
from jaxvision.train.state import TrainState, create_state, eval_params
from jaxvision.train.step import compile_train_step

LR = 0.5


class Linear(nn.Module):
  @nn.compact
  def __call__(self, x, *, train):
    return nn.Dense(5, kernel_init=nn.initializers.normal(0.5), name="fc")(
        x.reshape(x.shape[0], -1))


def loss_fn(model):
  def fn(params, model_state, batch, rng, step):
    logits = model.apply({"params": params}, batch["image"], train=True)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return loss, ({"loss": loss}, model_state)
  return fn


def numpy_step(w, b, x, y):
  """One SGD step of softmax regression on the whole batch, in float64 numpy."""
  x = x.reshape(len(x), -1).astype(np.float64)
  z = x @ w + b
  p = np.exp(z - z.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  loss = -np.mean(np.log(p[np.arange(len(y)), y]))
  d = (p - np.eye(w.shape[1])[y]) / len(y)
  return w - LR * x.T @ d, b - LR * d.sum(0), loss


def setup(ema=False, *, ema_decay=0.0, accum=1, devices=None):
  mesh = make_mesh(devices)
  model, tx = Linear(), optax.sgd(LR)
  init = jax.jit(lambda r: create_state(model, tx, r, (4, 4, 1), ema=ema),
                 out_shardings=replicated_sharding(mesh))
  state = init(jax.random.key(0))
  step = compile_train_step(mesh, loss_fn=loss_fn(model), tx=tx,
                            schedule=optax.constant_schedule(LR), base_rng=jax.random.key(1),
                            grad_accum_steps=accum, ema_decay=ema_decay)
  return mesh, state, step


def batch(seed, n=64):
  rng = np.random.default_rng(seed)
  return {"image": rng.normal(size=(n, 4, 4, 1)).astype(np.float32),
          "label": rng.integers(0, 5, n).astype(np.int32)}


@pytest.mark.parametrize("accum", [1, 4])
def test_accumulated_gradient_is_the_whole_batch_gradient(accum):
  mesh, state, step = setup(accum=accum)
  w = np.asarray(state.params["fc"]["kernel"], np.float64)
  b = np.asarray(state.params["fc"]["bias"], np.float64)
  for seed in range(3):
    data = batch(seed)
    w, b, loss = numpy_step(w, b, data["image"], data["label"])
    state, metrics = step(state, global_batch(data, mesh))
    np.testing.assert_allclose(float(metrics["loss"]), loss, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(state.params["fc"]["kernel"]), w, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(np.asarray(state.params["fc"]["bias"]), b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("accum", [1, 2])
def test_loss_fn_is_told_the_step(accum):
  # The objective contract: loss_fn(params, model_state, batch, rng, step) with the state's
  # step before the update (what MixMatch's and Tri-Net+Pi's ramps read), for every
  # micro-batch; a resumed state at step 7 must report 7, then 8.
  mesh = make_mesh()
  model, tx = Linear(), optax.sgd(LR)
  state = jax.jit(lambda r: create_state(model, tx, r, (4, 4, 1)),
                  out_shardings=replicated_sharding(mesh))(jax.random.key(0))
  state = state.replace(step=jnp.asarray(7, jnp.int32))
  inner = loss_fn(model)

  def with_step(params, model_state, batch, rng, step):
    loss, (metrics, new_state) = inner(params, model_state, batch, rng, step)
    return loss, (dict(metrics, seen=step.astype(jnp.float32)), new_state)

  step = compile_train_step(mesh, loss_fn=with_step, tx=tx,
                            schedule=optax.constant_schedule(LR), base_rng=jax.random.key(1),
                            grad_accum_steps=accum)
  seen = []
  for seed in range(2):
    state, metrics = step(state, global_batch(batch(seed), mesh))
    seen.append(float(metrics["seen"]))
  assert seen == [7.0, 8.0]


def test_accumulation_refuses_a_batch_it_cannot_split():
  mesh, state, step = setup(accum=3)
  with pytest.raises(ValueError, match="grad_accum_steps=3"):
    step(state, global_batch(batch(0, n=64), mesh))


def test_ema_follows_its_recurrence():
  decay = 0.8
  mesh, state, step = setup(ema=True, ema_decay=decay)
  expected = np.asarray(state.params["fc"]["kernel"], np.float64)  # the EMA starts at init
  for seed in range(4):
    state, _ = step(state, global_batch(batch(seed), mesh))
    expected = decay * expected + (1 - decay) * np.asarray(state.params["fc"]["kernel"])
  ema = np.asarray(state.ema_params["fc"]["kernel"])
  np.testing.assert_allclose(ema, expected, rtol=1e-5, atol=1e-7)
  assert not np.allclose(ema, np.asarray(state.params["fc"]["kernel"]))
  assert eval_params(state) is state.ema_params


def test_ema_without_ema_state_is_an_error():
  mesh, state, step = setup(ema=False, ema_decay=0.9)
  with pytest.raises(ValueError, match="ema=True"):
    step(state, global_batch(batch(0), mesh))


def test_checkpoints_with_and_without_ema(tmp_path):
  mesh, state, step = setup(ema=True, ema_decay=0.5)
  state, _ = step(state, global_batch(batch(0), mesh))
  ckpt = Checkpointer(str(tmp_path / "ema"))
  ckpt.save(state)
  ckpt.close()
  _, fresh, _ = setup(ema=True)
  restored = Checkpointer(str(tmp_path / "ema")).restore(fresh)
  np.testing.assert_array_equal(np.asarray(restored.ema_params["fc"]["kernel"]),
                                np.asarray(state.ema_params["fc"]["kernel"]))
  # Without EMA the checkpoint has the four entries it had before EMA existed.
  _, plain, _ = setup(ema=False)
  assert plain.ema_params is None and eval_params(plain) is plain.params
  ckpt = Checkpointer(str(tmp_path / "plain"))
  ckpt.save(plain)
  ckpt.close()
  ckpt = Checkpointer(str(tmp_path / "plain"))
  stored = ckpt.manager.item_metadata(0)["state"]
  assert sorted(stored) == ["model_state", "opt_state", "params", "step"]
  assert ckpt.restore(plain).ema_params is None


def test_float16_dynamic_loss_scale_skips_overflows_and_halves():
  """loss = sum(fp16(w) * 4): under a scale S the fp16 gradient is 4 S, which overflows
  float16 (max 65504) for S = 2**15 and 2**14 and fits for 2**13 (Micikevicius et al. 2018)."""
  from jaxvision.train.loss_scale import init_loss_scale
  from jaxvision.train.state import TrainState

  def loss_fn(params, model_state, batch, rng, step):
    loss = jnp.sum(params["w"].astype(jnp.float16) * jnp.float16(4.0)).astype(jnp.float32)
    return loss, ({"loss": loss}, model_state)

  mesh = make_mesh()
  tx = optax.sgd(0.5)
  params = {"w": jnp.ones(3, jnp.float32)}
  state = TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state={},
                     opt_state=tx.init(params), loss_scale=init_loss_scale(2.0 ** 15))
  state = jax.device_put(state, replicated_sharding(mesh))
  step = compile_train_step(mesh, loss_fn=loss_fn, tx=tx, schedule=optax.constant_schedule(0.5),
                            base_rng=jax.random.key(0))
  dummy = {"x": np.zeros((8, 1), np.float32)}
  overflows = []
  for _ in range(3):
    state, metrics = step(state, dummy)
    overflows.append(float(metrics["overflow"]))
  assert overflows == [1.0, 1.0, 0.0]
  # One update, with the unscaled gradient 4: w = 1 - 0.5 * 4.
  np.testing.assert_array_equal(np.asarray(state.params["w"]), np.full(3, -1.0, np.float32))
  assert float(state.loss_scale["scale"]) == 2.0 ** 13
  assert int(state.loss_scale["good_steps"]) == 1 and int(state.step) == 3


def test_loss_scale_grows_after_the_growth_interval():
  from jaxvision.train.loss_scale import init_loss_scale, update_loss_scale

  ls = init_loss_scale(4.0)
  for _ in range(3):
    ls = update_loss_scale(ls, jnp.bool_(True), growth_interval=3)
  assert (float(ls["scale"]), int(ls["good_steps"])) == (8.0, 0)
  ls = update_loss_scale(ls, jnp.bool_(False), growth_interval=3)
  assert (float(ls["scale"]), int(ls["good_steps"])) == (4.0, 0)
