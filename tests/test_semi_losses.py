"""Tri-Net and MixMatch pieces against hand computations and numpy (tests/test_losses_consistency.py
covers sharpen, mixup, the MixMatch losses, the ramp-up, EMA and the agreement rule)."""

from types import SimpleNamespace

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.losses import consistency
from jaxvision.models.trinet import TriNet, TriNetCNN13, vote
from jaxvision.objectives.mixmatch import MixMatch, guess_labels, mix_with_shuffle
from jaxvision.objectives.trinet import per_head_loss
from jaxvision.objectives import trinet_rounds
from jaxvision.settings.trinet import TriNetSettings


def test_guess_labels_is_sharpened_mean_by_hand():
  # Two views of one example: mean (0.6, 0.4); T = 0.5 squares: 0.36, 0.16 -> 9/13, 4/13.
  p = jnp.array([[[0.8, 0.2], [0.4, 0.6]]])
  np.testing.assert_allclose(guess_labels(p, temperature=0.5), [[9 / 13, 4 / 13]], rtol=1e-6)


def test_output_smearing_distribution_and_noise():
  labels = jnp.array([0, 3, 3, 9] * 250)
  y = np.asarray(consistency.output_smearing(labels, 10, std=0.05, key=jax.random.key(0)))
  np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-6)
  assert (y >= 0).all() and (np.argmax(y, -1) == np.asarray(labels)).all()
  # Each class gets ReLU(N(0, 0.05^2)) added (the true one too), then rows are normalised:
  # compare the mean wrong-class entry and the share of exact zeros with numpy's draw.
  z = np.maximum(np.random.default_rng(0).normal(0, 0.05, size=(200_000, 10)), 0)
  ref = (z + np.eye(10)[0]) / (z + np.eye(10)[0]).sum(-1, keepdims=True)
  wrong = y[np.eye(10, dtype=bool)[np.asarray(labels)] == 0]
  assert abs(wrong.mean() - ref[:, 1:].mean()) < 0.001
  assert abs((wrong == 0).mean() - 0.5) < 0.03
  other = consistency.output_smearing(labels, 10, std=0.05, key=jax.random.key(1))
  assert not np.allclose(y, other)  # different draws per head -> different targets
  np.testing.assert_array_equal(consistency.output_smearing(labels, 10, std=0.0,
                                                            key=jax.random.key(0)),
                                np.eye(10)[np.asarray(labels)])


def test_stable_under_dropout_by_hand():
  labels = jnp.array([1, 1, 1, 2])
  # K = 6 passes; at most floor(6 / 3) = 2 may disagree.
  preds = jnp.array([[1, 1, 0, 2], [1, 0, 0, 2], [1, 1, 0, 0], [1, 0, 1, 2],
                     [1, 1, 1, 2], [1, 1, 1, 2]])
  # mismatches: ex0 0, ex1 2, ex2 3, ex3 1
  np.testing.assert_array_equal(consistency.stable_under_dropout(preds, labels),
                                [True, True, False, True])


def test_vote_majority_and_three_way_tie():
  logits = jnp.log(jnp.array([
      [[.7, .2, .1], [.6, .3, .1], [.1, .1, .8]],     # two say 0 -> 0
      [[.1, .8, .1], [.1, .8, .1], [.1, .8, .1]],     # all say 1
      [[.5, .3, .2], [.1, .6, .3], [.05, .05, .9]],   # all differ: head 3 is surest -> 2
  ]))
  np.testing.assert_array_equal(vote(logits), [0, 1, 2])


def test_per_head_loss_matches_numpy():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(5, 3, 4)).astype(np.float32)
  targets = rng.dirichlet(np.ones(4), size=(5, 3)).astype(np.float32)
  weights = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0]], np.float32)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  ce = -(targets * logp).sum(-1)
  expect = [(ce[:, v] * weights[:, v]).sum() / weights[:, v].sum() for v in range(3)]
  loss, per_head = per_head_loss(logits, targets, weights)
  np.testing.assert_allclose(per_head, expect, rtol=1e-5)
  np.testing.assert_allclose(loss, sum(expect), rtol=1e-5)


def test_trinet_heads_differ_and_mc_dropout_is_random():
  model = TriNet(stages=(1, 1, 1), widths=(4, 4, 4), num_classes=5)
  x = jnp.ones((2, 4, 4, 1))
  variables = model.init(jax.random.key(0), x)
  assert {"shared", "head1", "head2", "head3", "fc1", "fc2", "fc3"} <= set(variables["params"])
  out = model.apply(variables, x)
  assert out.shape == (2, 3, 5)
  assert not np.allclose(out[:, 0], out[:, 1])
  np.testing.assert_array_equal(model.apply(variables, x), out)  # eval: deterministic
  a = model.apply(variables, x, mc_dropout=True, rngs={"dropout": jax.random.key(1)})
  b = model.apply(variables, x, mc_dropout=True, rngs={"dropout": jax.random.key(2)})
  assert not np.allclose(a, b)


def test_schedule_pool_growth_threshold_and_diversity_rounds():
  s = TriNetSettings(rounds=9)
  plan = trinet_rounds.schedule(s, num_unlabeled=10_000)
  # pools 2000, 4000, 8000, then |U|; round 4 reaches |U| and is a smearing round (4 % 4 == 0)
  assert [p for _, p, _, _ in plan] == [2000, 4000, 8000] + [10_000] * 6
  assert [f for _, _, f, _ in plan] == [False, False, False, True, False, False, False, True,
                                        False]
  sig = [round(x, 4) if x is not None else None for *_, x in plan]
  # first round after the initial smearing: 0.95 - 0.25; then 0.95; after round 4: 0.90 - 0.25
  assert sig == [0.7, 0.95, 0.95, None, 0.65, 0.9, 0.9, None, 0.6]


def test_pseudo_label_round_agreement_and_editing():
  # 4 pool examples, 3 heads, 2 classes.
  probs = np.array([
      [[.99, .01], [.99, .01], [.99, .01]],   # all agree, confident: a label for every head
      [[.99, .01], [.2, .8], [.99, .01]],     # heads 1 and 3 agree -> only head 2 gets it
      [[.6, .4], [.6, .4], [.6, .4]],         # agree but not confident: nobody
      [[.01, .99], [.01, .99], [.01, .99]],   # confident, but unstable under dropout
  ], np.float32)

  def mc_fn(idx):
    out = np.repeat(probs[idx][None], 6, axis=0)
    where = list(idx).index(3)
    out[:3, where] = [[.9, .1]] * 3          # 3 of 6 passes flip example 3: > 2 -> removed
    return out

  heads = trinet_rounds.pseudo_label_round(probs, mc_fn, 0.9, TriNetSettings())
  finals = np.array([f for _, _, f in heads])
  np.testing.assert_array_equal(finals, [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]])
  assert heads[1][0][1] == 0  # head 2's pseudo-label for example 1 is the others' class 0


def test_mixmatch_loss_runs_and_lambda_ramps():
  from jaxvision.models import get_model
  model = get_model("resnet20", num_classes=3, stages=(1, 1, 1), widths=(4, 4, 4))
  x = jnp.zeros((2, 4, 4, 1))
  variables = model.init(jax.random.key(0), x)
  params, state = variables["params"], {"batch_stats": variables["batch_stats"]}
  rng = np.random.default_rng(0)
  batch = {"image": jnp.asarray(rng.normal(size=(4, 4, 4, 1)), jnp.float32),
           "label": jnp.array([0, 1, 2, 0]),
           "unlabeled_image": jnp.asarray(rng.normal(size=(4, 2, 4, 4, 1)), jnp.float32)}
  obj = MixMatch(model=model, lambda_u=75.0, rampup_steps=100)
  grad_fn = jax.jit(jax.value_and_grad(obj.loss_fn, has_aux=True))
  (loss, (metrics, _)), grads = grad_fn(params, state, batch, jax.random.key(1), 50)
  assert float(metrics["lambda_u"]) == pytest.approx(37.5)
  assert float(loss) == pytest.approx(
      float(metrics["loss_x"]) + 37.5 * float(metrics["loss_u"]), rel=1e-5)
  assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


class _BNFirst(nn.Module):
  """Batch norm straight on the pixels, then a linear classifier: the running mean of its
  first layer is a closed form of the batch."""
  num_classes: int = 3

  @nn.compact
  def __call__(self, x, *, train: bool = False):
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9, name="bn")(x)
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))


@pytest.mark.parametrize("guess_updates_bn", [True, False])
def test_mixmatch_running_mean_sees_clean_views_then_the_mixed_batch(guess_updates_bn):
  # MixUp is a convex combination with one lambda and a permutation, so the mixed batch
  # [X'; U'] has the channel mean of concat(X, U). With the guess's update kept (YU1ut):
  # r = 0.9 * (0.9 * r0 + 0.1 * mean(U)) + 0.1 * mean(X, U); without (google-research):
  # r = 0.9 * r0 + 0.1 * mean(X, U).
  model = _BNFirst()
  rng = np.random.default_rng(3)
  x = rng.normal(1.0, 1.0, size=(4, 2, 2, 2)).astype(np.float32)
  u = rng.normal(-2.0, 1.0, size=(4, 2, 2, 2, 2)).astype(np.float32)
  variables = model.init(jax.random.key(0), jnp.asarray(x))
  r0 = np.asarray(variables["batch_stats"]["bn"]["mean"])
  batch = {"image": jnp.asarray(x), "label": jnp.array([0, 1, 2, 0]),
           "unlabeled_image": jnp.asarray(u)}
  obj = MixMatch(model=model, rampup_steps=10, guess_updates_bn=guess_updates_bn,
                 per_example_lambda=False)
  _, (_, new_state) = obj.loss_fn(variables["params"], {"batch_stats": variables["batch_stats"]},
                                  batch, jax.random.key(1), 0)
  u_flat = u.reshape(-1, 2, 2, 2)
  mean_u = u_flat.mean(axis=(0, 1, 2))
  mean_all = np.concatenate([x, u_flat]).mean(axis=(0, 1, 2))
  before_mixed = 0.9 * r0 + 0.1 * mean_u if guess_updates_bn else r0
  np.testing.assert_allclose(new_state["batch_stats"]["bn"]["mean"],
                             0.9 * before_mixed + 0.1 * mean_all, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("per_example", [True, False])
def test_mix_with_shuffle_rows_are_lambda_mixes_of_a_permutation(per_example):
  # Row i of all_x is 10^i * ones and its target is one-hot(i), so each mixed target names
  # its two sources and its weights: x'_i = l_i x_i + (1 - l_i) x_j with l_i >= 1/2 read
  # back from the target. The authors' code (google-research) draws l per row, YU1ut once.
  n = 6
  all_x = jnp.asarray(np.repeat(10.0 ** np.arange(n), 4).reshape(n, 2, 2, 1), jnp.float32)
  all_y = jnp.eye(n)
  mx, my = mix_with_shuffle(all_x, all_y, jax.random.key(3), jax.random.key(4), alpha=0.75,
                            per_example=per_example)
  mx, my = np.asarray(mx), np.asarray(my)
  lams, partners = [], []
  for i in range(n):
    lam = my[i, i]
    assert lam >= 0.5 - 1e-6
    others = [j for j in range(n) if j != i and my[i, j] > 1e-6]
    j = others[0] if others else i
    assert len(others) <= 1 and np.isclose(my[i].sum(), 1.0, atol=1e-6)
    expect = 10.0 ** i if j == i else lam * 10.0 ** i + (1 - lam) * 10.0 ** j
    np.testing.assert_allclose(mx[i], expect, rtol=1e-5)
    lams.append(lam)
    partners.append(j)
  assert sorted(partners) == list(range(n))  # W is a permutation of the rows
  fixed = [l for l, j, i in zip(lams, partners, range(n)) if j != i]
  if per_example:
    assert len(set(np.round(fixed, 5))) == len(fixed) >= 2
  else:
    np.testing.assert_allclose(fixed, fixed[0], rtol=1e-6)


def test_pi_consistency_matches_numpy_and_both_passes_get_gradients():
  rng = np.random.default_rng(4)
  a = rng.normal(size=(6, 3, 5)).astype(np.float32)
  b = rng.normal(size=(6, 3, 5)).astype(np.float32)
  softmax = lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)
  # Laine & Aila's 1/C ||z - z~||^2, averaged over the examples (here 6 x 3 rows).
  expect = np.mean(np.sum((softmax(a) - softmax(b)) ** 2, axis=-1) / 5)
  np.testing.assert_allclose(consistency.pi_consistency(a, b), expect, rtol=1e-5)
  assert float(consistency.pi_consistency(a, a)) == 0.0
  ga, gb = jax.grad(consistency.pi_consistency, argnums=(0, 1))(jnp.asarray(a), jnp.asarray(b))
  assert np.abs(ga).sum() > 0 and np.abs(gb).sum() > 0  # no stop_gradient on either pass


def _trinet_pi_batch(views):
  """A Tri-Net round batch of 2 examples plus 2 unlabeled images whose two views are given."""
  rng = np.random.default_rng(5)
  return {"image": jnp.asarray(rng.normal(size=(2, 4, 4, 1)), jnp.float32),
          "targets": jnp.asarray(np.eye(3, dtype=np.float32)[[0, 1]][:, None].repeat(3, 1)),
          "weights": jnp.ones((2, 3), jnp.float32),
          "unlabeled_image": jnp.asarray(views, jnp.float32)}


def test_trinet_pi_term_pairs_the_two_views_of_each_image_and_ramps():
  from jaxvision.objectives.trinet import TriNetObjective
  model = TriNet(stages=(1, 1, 1), widths=(4, 4, 4), num_classes=3, dropout_rate=0.0)
  rng = np.random.default_rng(6)
  p, q = rng.normal(size=(2, 4, 4, 1)), rng.normal(size=(2, 4, 4, 1))
  variables = model.init(jax.random.key(0), jnp.zeros((2, 4, 4, 1)))
  params, state = variables["params"], {"batch_stats": variables["batch_stats"]}
  obj = TriNetObjective(model=model,
                        settings=TriNetSettings(pi_weight=4.0, pi_rampup_steps=10))
  # Rows of unlabeled_image are (image, 2 views): identical views cost nothing (no dropout),
  # different ones do; and the weight is 4 * 5/10 at step 5.
  same = np.stack([p, p], axis=1)
  _, (m_same, _) = obj.loss_fn(params, state, _trinet_pi_batch(same), jax.random.key(1), 5)
  assert float(m_same["loss_pi"]) == pytest.approx(0.0, abs=1e-7)
  differ = np.stack([p, q], axis=1)
  loss, (m, _) = obj.loss_fn(params, state, _trinet_pi_batch(differ), jax.random.key(1), 5)
  assert float(m["loss_pi"]) > 1e-6
  assert float(m["pi_weight"]) == pytest.approx(2.0)
  plain = float(m["loss_head1"] + m["loss_head2"] + m["loss_head3"])
  assert float(loss) == pytest.approx(plain + 2.0 * float(m["loss_pi"]), rel=1e-5)
  # Without pi_weight the views are ignored: no Pi metrics, the loss is the heads' alone.
  loss0, (m0, _) = TriNetObjective(model=model).loss_fn(params, state,
                                                        _trinet_pi_batch(differ),
                                                        jax.random.key(1), 5)
  assert "loss_pi" not in m0
  assert float(loss0) == pytest.approx(float(m0["loss_head1"] + m0["loss_head2"]
                                             + m0["loss_head3"]), rel=1e-6)


def test_class_balanced_pseudo_labels_by_hand():
  # 3 classes, uniform prior, count 3: one per class, the most confident agreeing example.
  pj = np.array([[.9, .05, .05], [.97, .02, .01], [.1, .8, .1], [.2, .7, .1], [.1, .2, .7],
                 [.99, .005, .005]], np.float32)
  pk = np.array([[.9, .05, .05], [.95, .03, .02], [.2, .6, .2], [.1, .8, .1], [.6, .2, .2],
                 [.01, .98, .01]], np.float32)
  # agree: rows 0-3 (0, 0, 1, 1); row 4 (2 vs 0) and row 5 (0 vs 1) disagree.
  labels, keep = consistency.class_balanced_pseudo_labels(pj, pk, count=3,
                                                          prior=[1 / 3, 1 / 3, 1 / 3])
  np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 0])
  # class 0: row 1 (confidence 0.96) beats row 0 (0.9); class 1: row 3 (0.75) beats row 2 (0.7);
  # class 2: nobody agrees, so its share stays unused.
  np.testing.assert_array_equal(keep, [False, True, False, True, False, False])
  _, keep = consistency.class_balanced_pseudo_labels(pj, pk, count=6, prior=[2, 1, 0])
  np.testing.assert_array_equal(keep, [True, True, True, True, False, False])  # quotas 4, 2, 0


@pytest.mark.parametrize("model", [
    TriNet(stages=(1, 1, 1), widths=(4, 4, 8), num_classes=5, dropout_rate=0.5),
    TriNetCNN13(num_classes=5, widths=(4, 4, 8, 4, 4))], ids=["resnet", "cnn13"])
def test_predict_pool_dropout_passes_equal_whole_model_passes(model):
  """predict_pool's K dropout passes equal K whole-model applies with the documented keys,
  batch by batch; for TriNet (dropout after pooling) also when they read pooled_features."""
  x = jax.random.normal(jax.random.key(0), (8, 12, 12, 1))  # two batches of 4: one compile each
  variables = model.init(jax.random.key(1), x)
  batches = [x[:4], x[4:]]
  base = jax.random.key(11)
  whole = jax.jit(lambda b, key: jax.nn.softmax(  # jitted: eager applies compile op by op
      model.apply(variables, b, mc_dropout=True, rngs={"dropout": key}), -1))
  want = np.stack([np.concatenate([whole(b, jax.random.fold_in(base, k * 100_003 + i))
                                   for i, b in enumerate(batches)]) for k in range(3)])
  exp = SimpleNamespace(model=model)
  inputs = [(batches, False)]
  if getattr(model, "dropout_after_pooling", False):
    inputs.append(([trinet_rounds.pooled_features(exp, variables, [b]) for b in batches], True))
  for rows, pooled in inputs:
    got = trinet_rounds.predict_pool(exp, variables, rows, dropout_passes=3, seed=11,
                                     pooled=pooled)
    assert got.shape == (3, 8, 3, 5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[0], got[1])  # the passes draw different masks
    np.testing.assert_allclose(trinet_rounds.predict_pool(exp, variables, rows, pooled=pooled),
                               jax.jit(lambda x: jax.nn.softmax(model.apply(variables, x), -1))(x),
                               rtol=1e-5, atol=1e-6)
