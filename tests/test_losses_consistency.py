"""MixMatch pieces, EMA, rotation prediction and the Tri-Net agreement filter."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.losses.consistency import (agreement_pseudo_labels, ema_update, linear_rampup,
                                          mixmatch_losses, mixup, rotate_batch,
                                          rotation_targets, sharpen)


def test_sharpen_by_hand_and_numpy():
  # [0.6, 0.4] at T = 0.5 -> [0.36, 0.16] / 0.52
  np.testing.assert_allclose(sharpen(np.array([0.6, 0.4]), temperature=0.5),
                             [0.36 / 0.52, 0.16 / 0.52], rtol=1e-6)
  p = np.random.default_rng(0).dirichlet(np.ones(5), size=3)
  expected = p ** 2 / (p ** 2).sum(1, keepdims=True)
  out = sharpen(p, temperature=0.5)
  np.testing.assert_allclose(out, expected, rtol=1e-5)
  np.testing.assert_allclose(np.sum(out, 1), 1.0, rtol=1e-6)
  np.testing.assert_allclose(sharpen(p, temperature=1.0), p, rtol=1e-5)


def test_mixup_uses_max_lambda():
  x1, x2 = np.full((2, 3), 10.0, np.float32), np.zeros((2, 3), np.float32)
  y1, y2 = np.array([[1.0, 0.0]] * 2), np.array([[0.0, 1.0]] * 2)
  for lam in (0.3, 0.7):  # both become 0.7
    x, y = mixup(x1, y1, x2, y2, lam=lam)
    np.testing.assert_allclose(x, 7.0, rtol=1e-6)
    np.testing.assert_allclose(y, [[0.7, 0.3]] * 2, rtol=1e-6)


def test_mixup_per_example_lambda_and_images():
  g = np.random.default_rng(1)
  x1, x2 = g.normal(size=(2, 4, 4, 3)), g.normal(size=(2, 4, 4, 3))
  y1, y2 = g.dirichlet(np.ones(3), 2), g.dirichlet(np.ones(3), 2)
  lam = np.array([0.2, 0.9])
  x, y = mixup(x1, y1, x2, y2, lam=lam)
  lp = np.maximum(lam, 1 - lam)
  np.testing.assert_allclose(x, lp[:, None, None, None] * x1 + (1 - lp[:, None, None, None]) * x2,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(y, lp[:, None] * y1 + (1 - lp[:, None]) * y2, rtol=1e-5)


def test_mixmatch_losses_by_hand():
  # Logits [0, 0]: softmax [0.5, 0.5]; target [1, 0] -> L_x = log 2.
  # L_u: (0.5 - 1)^2 and (0.5 - 0)^2, mean over classes and examples = 0.25.
  zeros = np.zeros((1, 2))
  loss_x, loss_u = mixmatch_losses(zeros, np.array([[1.0, 0.0]]), zeros, np.array([[1.0, 0.0]]))
  np.testing.assert_allclose(loss_x, math.log(2), rtol=1e-6)
  np.testing.assert_allclose(loss_u, 0.25, rtol=1e-6)


def test_mixmatch_losses_match_numpy():
  g = np.random.default_rng(2)
  lx, lu = g.normal(size=(4, 5)), g.normal(size=(6, 5))
  tx, tu = g.dirichlet(np.ones(5), 4), g.dirichlet(np.ones(5), 6)
  log_px = lx - np.log(np.exp(lx).sum(1, keepdims=True))
  pu = np.exp(lu) / np.exp(lu).sum(1, keepdims=True)
  got_x, got_u = mixmatch_losses(lx, tx, lu, tu)
  np.testing.assert_allclose(got_x, -np.mean(np.sum(tx * log_px, 1)), rtol=1e-5)
  np.testing.assert_allclose(got_u, np.sum((pu - tu) ** 2) / (6 * 5), rtol=1e-5)


def test_linear_rampup():
  vals = [float(linear_rampup(s, rampup_steps=100)) for s in (-5, 0, 25, 100, 250)]
  np.testing.assert_allclose(vals, [0.0, 0.0, 0.25, 1.0, 1.0])
  assert float(linear_rampup(7, rampup_steps=0)) == 1.0
  traced = jax.jit(lambda s: linear_rampup(s, rampup_steps=8))(jnp.int32(2))
  assert traced.dtype == jnp.float32 and float(traced) == 0.25


def test_ema_update_pytree():
  ema = {"w": np.full((2,), 1.0, np.float32), "b": {"c": np.float32(0.0)}}
  new = {"w": np.full((2,), 3.0, np.float32), "b": {"c": np.float32(10.0)}}
  out = ema_update(ema, new, decay=0.75)
  chex.assert_trees_all_close(out, {"w": np.full((2,), 1.5), "b": {"c": 2.5}}, rtol=1e-6)
  assert out["w"].dtype == jnp.float32
  # decay 1 keeps the average, decay 0 copies the parameters.
  chex.assert_trees_all_close(ema_update(ema, new, decay=1.0), ema)
  chex.assert_trees_all_close(ema_update(ema, new, decay=0.0), new)
  # Leaf dtypes of the average are kept (a bf16 average stays bf16).
  bf = ema_update({"w": jnp.ones(2, jnp.bfloat16)}, {"w": jnp.zeros(2, jnp.float32)}, decay=0.5)
  assert bf["w"].dtype == jnp.bfloat16


def test_rotate_batch_matches_np_rot90_and_targets():
  x = np.random.default_rng(3).normal(size=(3, 4, 4, 2)).astype(np.float32)
  out = np.asarray(rotate_batch(x))
  assert out.shape == (12, 4, 4, 2)
  for k in range(4):
    np.testing.assert_array_equal(out[3 * k:3 * k + 3], np.rot90(x, k, axes=(1, 2)))
  np.testing.assert_array_equal(rotation_targets(3), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
  assert rotation_targets(3).dtype == jnp.int32


def test_rotate_90_is_counter_clockwise_by_hand():
  # [[1, 2], [3, 4]] turned 90 degrees counter-clockwise is [[2, 4], [1, 3]].
  x = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1)
  np.testing.assert_array_equal(rotate_batch(x)[1, :, :, 0], [[2, 4], [1, 3]])


def test_rotate_batch_rejects_non_square():
  with pytest.raises(ValueError):
    rotate_batch(jnp.zeros((1, 4, 6, 3)))


def test_agreement_pseudo_labels_constructed():
  pj = np.array([
      [0.97, 0.02, 0.01],  # agree, both confident                       -> keep, 0
      [0.10, 0.99, 0.00],  # agree, mean (0.99 + 0.93) / 2 = 0.96 > 0.95  -> keep, 1
      [0.90, 0.05, 0.05],  # agree, mean 0.935                            -> drop
      [0.99, 0.01, 0.00],  # disagree although both confident             -> drop
      [0.00, 0.00, 1.00],  # agree, fully confident                       -> keep, 2
  ])
  pk = np.array([
      [0.96, 0.02, 0.02],
      [0.03, 0.93, 0.04],
      [0.97, 0.02, 0.01],
      [0.01, 0.99, 0.00],
      [0.00, 0.01, 0.99],
  ])
  labels, keep = agreement_pseudo_labels(pj, pk, sigma=0.95)
  np.testing.assert_array_equal(keep, [True, True, False, False, True])
  np.testing.assert_array_equal(np.asarray(labels)[np.asarray(keep)], [0, 1, 2])
  assert labels.dtype == jnp.int32 and keep.dtype == jnp.bool_


def test_agreement_matches_numpy_on_random():
  g = np.random.default_rng(4)
  pj, pk = g.dirichlet(np.full(3, 0.2), 50), g.dirichlet(np.full(3, 0.2), 50)
  labels, keep = agreement_pseudo_labels(pj, pk, sigma=0.8)
  expected = (pj.argmax(1) == pk.argmax(1)) & ((pj.max(1) + pk.max(1)) / 2 > 0.8)
  np.testing.assert_array_equal(keep, expected)
  np.testing.assert_array_equal(labels, pj.argmax(1))


def test_bfloat16_inputs_give_float32():
  bf = lambda a: jnp.asarray(a, jnp.bfloat16)  # noqa: E731
  logits = bf(np.random.default_rng(5).normal(size=(3, 4)))
  probs = jax.nn.softmax(logits.astype(jnp.float32))
  assert sharpen(bf(probs), temperature=0.5).dtype == jnp.float32
  x, y = mixup(logits, bf(probs), logits, bf(probs), lam=0.3)
  assert x.dtype == jnp.float32 and y.dtype == jnp.float32
  loss_x, loss_u = mixmatch_losses(logits, bf(probs), logits, bf(probs))
  assert loss_x.dtype == jnp.float32 and loss_u.dtype == jnp.float32
  chex.assert_shape((loss_x, loss_u), ())
