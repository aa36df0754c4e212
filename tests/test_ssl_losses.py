"""SimCLR through the real train step: NT-Xent hand cases, and 8 devices equal 1 device with
the negatives spanning the global batch (not each device's share of it)."""

import math

import jax
import numpy as np
import optax

from jaxvision.losses import nt_xent
from jaxvision.models import ssl
from jaxvision.objectives.simclr import SimCLR, contrastive_accuracy
from jaxvision.parallel import global_batch, make_mesh
from jaxvision.train.state import create_state
from jaxvision.train.step import compile_train_step


def test_nt_xent_identical_views_two_examples_closed_form():
  # z_a = z_b, two examples at cosine c: each anchor has its positive at cosine 1 and two
  # negatives (the other example's two views) at cosine c, so the loss is
  # -1/t + log(e^(1/t) + 2 e^(c/t)) = log(1 + 2 e^((c - 1)/t)) for all four anchors.
  angle, t = 1.1, 0.3
  z = np.array([[1.0, 0.0], [math.cos(angle), math.sin(angle)]], np.float32) * [[2.0], [0.5]]
  expected = math.log(1.0 + 2.0 * math.exp((math.cos(angle) - 1.0) / t))
  np.testing.assert_allclose(nt_xent(z, z, temperature=t), expected, rtol=1e-6)


def test_nt_xent_all_orthogonal_is_log_of_2n_minus_1():
  # All 2N embeddings mutually orthogonal (positives too): every logit is 0, so each anchor's
  # loss is log(2N - 1) whatever the temperature.
  n = 3
  e = np.eye(2 * n, dtype=np.float32)
  for t in (0.1, 1.0):
    np.testing.assert_allclose(nt_xent(e[:n], e[n:], temperature=t), math.log(2 * n - 1),
                               rtol=1e-6)


def test_contrastive_accuracy_by_hand():
  e = np.eye(4, dtype=np.float32)
  assert float(contrastive_accuracy(e[:2], e[:2])) == 1.0  # positives identical
  # view b swapped: each anchor's most similar other row is the wrong example's view
  assert float(contrastive_accuracy(e[:2], e[[1, 0]])) == 0.0


MODEL = ssl.simclr_net(encoder="resnet20", stages=(1, 1, 1), widths=(4, 8, 8), proj_dim=16)
TX = optax.sgd(0.05, momentum=0.9)


def _simclr_steps(devices, views, num_steps, init):
  model, tx = MODEL, TX
  objective = SimCLR(model, temperature=0.5)
  mesh = make_mesh(devices)
  state = jax.tree.map(jax.numpy.asarray, init)  # a fresh copy: the step donates it
  step = compile_train_step(mesh, loss_fn=objective.loss_fn, tx=tx, schedule=lambda s: 0.05,
                            base_rng=jax.random.key(1))
  losses = []
  for _ in range(num_steps):
    state, metrics = step(state, global_batch(views, mesh))
    losses.append(float(metrics["loss"]))
  return np.array(losses), state


def test_simclr_train_step_on_8_devices_equals_1_device():
  assert jax.device_count() == 8
  rng = np.random.default_rng(0)
  views = {k: rng.normal(size=(16, 12, 12, 1)).astype(np.float32) for k in ("view1", "view2")}
  init = jax.tree.map(np.asarray, jax.jit(
      lambda r: create_state(MODEL, TX, r, (12, 12, 1)))(jax.random.key(0)))
  losses8, state8 = _simclr_steps(jax.devices(), views, 2, init)
  losses1, state1 = _simclr_steps(jax.devices()[:1], views, 2, init)
  np.testing.assert_allclose(losses8, losses1, rtol=1e-5)
  assert abs(losses8[1] - losses8[0]) > 1e-4  # the update changed the model
  # Batch norm statistics over the global batch of 2N views (per-device would differ).
  for a, b in zip(jax.tree.leaves(state8.model_state), jax.tree.leaves(state1.model_state)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
  # The first loss is NT-Xent over all 32 views; restricted to each device's 2 examples
  # (4 views, 2 negatives per anchor instead of 30) it would be far smaller.
  x = np.concatenate([views["view1"], views["view2"]])
  z = np.asarray(jax.jit(lambda v, x: MODEL.apply(v, x, train=True, mutable=["batch_stats"])[0])(
      {"params": init.params, **init.model_state}, x))
  whole = float(nt_xent(z[:16], z[16:], temperature=0.5))
  np.testing.assert_allclose(losses1[0], whole, rtol=1e-5)
  per_device = np.mean([float(nt_xent(z[i:i + 2], z[16 + i:18 + i], temperature=0.5))
                        for i in range(0, 16, 2)])
  assert per_device < whole - 1.0
