"""Data parallelism: the same train steps on 8 devices and on 1 give the same losses."""

import jax
import numpy as np
import pytest

from helpers import config
from jaxvision import objectives
from jaxvision.data import pipeline, views
from jaxvision.parallel import global_batch, make_mesh
from jaxvision.train import experiment
from jaxvision.train.optim import make_optimizer
from jaxvision.train.step import compile_train_step


def run_steps(devices, cfg, num_steps=4):
  exp = experiment.build_experiment(cfg, "unused")
  exp.mesh = make_mesh(devices)
  tx, schedule = make_optimizer(cfg, exp.total_steps)
  init_rng, step_rng = jax.random.split(jax.random.key(cfg.seed))
  state = experiment.init_state(exp, tx, init_rng)
  objective = objectives.get_objective("supervised", exp.model, cfg)
  step = compile_train_step(exp.mesh, loss_fn=objective.loss_fn, tx=tx, schedule=schedule,
                            base_rng=step_rng)
  batches = pipeline.train_batches(exp.source, views.single_view(cfg.data, train=True),
                                   local_batch=cfg.batch_size, seed=cfg.seed)
  losses = []
  for _ in range(num_steps):
    state, metrics = step(state, global_batch(next(batches), exp.mesh))
    losses.append(float(metrics["loss"]))
  return np.array(losses), state


def test_eight_devices_equal_one_device():
  assert len(jax.devices()) == 8
  # Plain SGD: Adam divides by the gradient's size and so amplifies float rounding in
  # near-zero gradients into full-size steps, which would test Adam, not parallelism.
  cfg = config("lenet5_digits", "--config.batch_size=64", "--config.optimizer=sgd",
               "--config.learning_rate=0.05")
  losses8, state8 = run_steps(jax.devices(), cfg)
  losses1, state1 = run_steps(jax.devices()[:1], cfg)
  np.testing.assert_allclose(losses8, losses1, rtol=1e-5)
  # Training moved the loss, so the comparison is not between two untouched models.
  assert abs(losses8[-1] - losses8[0]) > 1e-3
  for a, b in zip(jax.tree.leaves(state8.params), jax.tree.leaves(state1.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_batch_norm_statistics_span_the_global_batch():
  # One step only: a batch-norm net at initialisation is so ill-conditioned that merely
  # reversing the batch order on one device moves its gradients by 5e-3 relative, so
  # later steps differ by float rounding, not by parallelism.
  cfg = config("lenet5_digits", "--config.batch_size=64", "--config.model.name=resnet20",
               "--config.optimizer=sgd", "--config.learning_rate=0.05")
  losses8, state8 = run_steps(jax.devices(), cfg, num_steps=1)
  losses1, state1 = run_steps(jax.devices()[:1], cfg, num_steps=1)
  np.testing.assert_allclose(losses8, losses1, rtol=1e-5)
  # Per-device statistics (8 examples each) would move the running averages differently.
  stats8, stats1 = state8.model_state["batch_stats"], state1.model_state["batch_stats"]
  for a, b in zip(jax.tree.leaves(stats8), jax.tree.leaves(stats1)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_batch_is_sharded_and_params_replicated():
  cfg = config("lenet5_digits", "--config.batch_size=64")
  mesh = make_mesh()
  batch = global_batch({"image": np.zeros((64, 32, 32, 1), np.float32)}, mesh)
  shards = batch["image"].addressable_shards
  assert len(shards) == 8 and all(s.data.shape == (8, 32, 32, 1) for s in shards)
  exp = experiment.build_experiment(cfg, "unused")
  tx, _ = make_optimizer(cfg, 10)
  state = experiment.init_state(exp, tx, jax.random.key(0))
  kernel = state.params["c1"]["kernel"]
  assert kernel.sharding.is_fully_replicated and len(kernel.addressable_shards) == 8
