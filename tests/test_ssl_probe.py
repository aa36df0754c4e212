"""The representation evaluator: kNN and linear probe against independent implementations,
and the whole evaluator on the digits through a model's `features` method and raw pixels."""

import jax
import ml_collections
import numpy as np
import optax
import pytest

from helpers import config
from jaxvision.data import pipeline, views
from jaxvision.evaluate import knn, linear_probe, representation
from jaxvision.train import experiment


def _np_weighted_knn(train_x, train_y, test_x, k, t, num_classes):
  """Wu et al. 2018's rule, one query at a time, in float64."""
  bank = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
  preds = []
  for q in test_x:
    s = bank @ (q / np.linalg.norm(q))
    top = np.argsort(-s, kind="stable")[:k]
    votes = np.zeros(num_classes)
    for i in top:
      votes[train_y[i]] += np.exp(s[i] / t)
    preds.append(np.argmax(votes))
  return np.array(preds)


def test_knn_matches_numpy():
  rng = np.random.default_rng(0)
  train_x, test_x = rng.normal(size=(300, 6)), rng.normal(size=(70, 6))
  train_y = rng.integers(0, 5, 300)
  for k, t in ((1, 0.07), (20, 0.07), (50, 1.0)):
    got = knn.knn_predict(train_x, train_y, test_x, num_classes=5, k=k, temperature=t,
                          chunk=32)
    np.testing.assert_array_equal(got, _np_weighted_knn(train_x, train_y, test_x, k, t, 5))


def test_knn_weights_by_similarity_by_hand():
  # One neighbour of class 0 at cosine 1 against two of class 1 at cosine 0.8: with
  # tau = 0.07 the weights are e^(1/0.07) vs 2 e^(0.8/0.07): 1.6e6 vs 1.8e5, class 0 wins;
  # at tau = 1 they are 2.7 vs 4.5, class 1 wins. Cosine, so the scale of a row is ignored.
  c = 0.8
  train_x = np.array([[5.0, 0.0], [c, np.sqrt(1 - c * c)], [c, -np.sqrt(1 - c * c)]])
  train_y = np.array([0, 1, 1])
  query = np.array([[2.0, 0.0]])
  assert knn.knn_predict(train_x, train_y, query, num_classes=2, k=3, temperature=0.07)[0] == 0
  assert knn.knn_predict(train_x, train_y, query, num_classes=2, k=3, temperature=1.0)[0] == 1


def test_logistic_regression_matches_sklearn():
  linear_model = pytest.importorskip("sklearn.linear_model")
  rng = np.random.default_rng(1)
  x = rng.normal(size=(400, 5)).astype(np.float32)
  y = np.argmax(x @ rng.normal(size=(5, 3)) + rng.normal(size=(400, 3)), axis=1)
  l2 = 1e-2
  params, _ = linear_probe.fit_logistic_regression(x, y, num_classes=3, l2=l2, max_iter=1000,
                                                   tol=1e-7)
  # sklearn minimises C * sum(CE) + ||W||^2 / 2 with an unpenalised intercept: the same
  # minimiser as mean(CE) + (l2 / 2) ||W||^2 when C = 1 / (l2 * N).
  ref = linear_model.LogisticRegression(C=1.0 / (l2 * len(y)), tol=1e-10, max_iter=5000)
  ref.fit(x, y)
  logits = x @ np.asarray(params["w"]) + np.asarray(params["b"])
  probs = np.exp(logits - logits.max(1, keepdims=True))
  probs /= probs.sum(1, keepdims=True)
  np.testing.assert_allclose(probs, ref.predict_proba(x), atol=2e-4)
  # W is identifiable up to a per-feature shift common to all classes only without the
  # penalty; with it, the minimum-norm (centred) solution is sklearn's coef_.T.
  np.testing.assert_allclose(np.asarray(params["w"]), ref.coef_.T, atol=2e-3)


def test_standardize_uses_train_statistics():
  train = np.array([[1.0, 10.0], [3.0, 10.0]])
  test = np.array([[2.0, 12.0]])
  s_train, s_test = linear_probe.standardize(train, test)
  np.testing.assert_allclose(s_train, [[-1.0, 0.0], [1.0, 0.0]], atol=1e-5)
  np.testing.assert_allclose(s_test, [[0.0, 2.0 / 1e-6]], rtol=1e-5)  # constant feature


def test_probe_selects_l2_on_held_out_train():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(600, 4))
  y = (x[:, 0] > 0).astype(int)
  out = linear_probe.linear_probe(x[:500], y[:500], x[500:], y[500:], num_classes=2,
                                  l2_grid=(1e-4, 1e2))
  assert out["l2"] == 1e-4 and out["accuracy"] > 0.95  # 1e2 shrinks W to almost nothing
  assert linear_probe.linear_probe(x[:500], y[:500], x[500:], y[500:], num_classes=2,
                                   l2_grid=(1e2,))["l2"] == 1e2


def test_representation_evaluator_on_digits():
  cfg = config("lenet5_digits", "--config.objective=simclr", "--config.model.name=simclr",
               "--config.model.encoder=lenet5_relu", "--config.eval_batch_size=360")
  cfg.unlock()
  cfg.probe = ml_collections.ConfigDict({"l2_grid": (1e-3,)})  # one fit per probe: fast
  exp = experiment.build_experiment(cfg, "unused")
  assert exp.objective.evaluation == "representation"
  tx_state = experiment.init_state(exp, optax.sgd(0.1), jax.random.key(0))
  variables = {"params": tx_state.params, **tx_state.model_state}
  feats, labels = representation.extract_features(exp, variables, "test")
  assert feats.shape == (360, 84) and labels.shape == (360,)
  # The mesh step returns the model's features of the evaluation view, in order.
  first = next(pipeline.eval_batches(exp.source, views.single_view(cfg.data, train=False),
                                     split="test", local_batch=360))
  direct = exp.model.apply(variables, first["image"], method="features")
  np.testing.assert_allclose(feats, np.asarray(direct), rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(labels, first["label"])
  metrics = representation.representation_eval(exp, variables)
  assert metrics["num_train_examples"] == 1437 and metrics["num_examples"] == 360
  assert metrics["feature_dim"] == 84
  # A random LeNet's 84 features still separate the digits well above chance (0.1).
  assert metrics["linear_probe_accuracy"] > 0.5 and metrics["knn_accuracy"] > 0.3
  pixels = representation.representation_eval(exp, None, feature_fn=representation.raw_pixels)
  assert pixels["feature_dim"] == 32 * 32
  # Logistic regression on the digits' pixels is a well-known ~0.95+ baseline.
  assert pixels["linear_probe_accuracy"] > 0.93 and pixels["knn_accuracy"] > 0.9
