"""The "representation" evaluator: how good are a model's frozen features for classification?

Used by every self-supervised method (rotation, SimCLR, MAE, flip, jigsaw, ...):

1. Features of every example of the *training* split and of the evaluated split, from
   `model.apply(variables, images, train=False, method="features")` -> (N, D), one jitted
   step over the device mesh (batch sharded on 'data', features gathered to every host), on
   the deterministic evaluation view (data.resize, no augmentation). Labels are read here
   only: pre-training never sees them.
2. Linear probe (jaxvision.evaluate.linear_probe): L2-regularised multinomial logistic
   regression by full-batch L-BFGS on standardised features; l2 chosen on 10% of the
   training split, refit on all of it, scored on the evaluated split.
3. Weighted kNN (jaxvision.evaluate.knn): cosine, k = 200, exp(s / 0.07) votes (Wu et al.
   2018), training split as the memory bank.

Settings (all optional) come from a `probe` ConfigDict in the experiment config:
`probe.l2_grid`, `probe.max_iter`, `probe.knn_k`, `probe.knn_temperature`,
`probe.max_train_examples` (0 = all; a first-N subset for quick periodic evaluation).

Other callers (e.g. experiments/ssl_probe.py for a random encoder or raw pixels):
`extract_features(exp, variables, split, feature_fn=...)` and
`score_features(train_x, train_y, test_x, test_y, num_classes=..., settings=...)`.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision.data import pipeline, views
from jaxvision.evaluate import knn, linear_probe
from jaxvision.parallel import batch_sharding, global_batch, replicated_sharding

DEFAULTS = {"l2_grid": linear_probe.DEFAULT_L2_GRID, "max_iter": 500, "knn_k": 200,
            "knn_temperature": 0.07, "max_train_examples": 0}


def settings_from_config(config) -> dict:
  probe = config.get("probe", None) or {}
  return {key: probe.get(key, default) for key, default in DEFAULTS.items()}


def model_features(exp):
  """feature_fn(variables, images) -> (N, D) through the model's `features` method."""
  if not hasattr(exp.model, "features"):
    raise ValueError(f"model {type(exp.model).__name__} has no `features` method; the "
                     "representation evaluator needs one (an SSL wrapper of jaxvision.models)")
  return lambda variables, images: exp.model.apply(variables, images, train=False,
                                                   method="features")


def raw_pixels(variables, images):
  """The evaluation view's normalised pixels, flattened: the probe's no-learning baseline."""
  del variables
  return images.reshape(images.shape[0], -1)


def _compile(exp, feature_fn):
  def step(variables, batch):
    feats = feature_fn(variables, batch["image"])
    return jnp.asarray(feats, jnp.float32), batch["label"], batch["mask"]

  # Replicated outputs: every host gets every feature (an all-gather per batch), so the
  # probe below runs on plain numpy arrays on each host and all hosts agree.
  return jax.jit(step, in_shardings=(replicated_sharding(exp.mesh), batch_sharding(exp.mesh)),
                 out_shardings=replicated_sharding(exp.mesh))


_STEPS = {}


def _cached_step(exp, kind: str, feature_fn):
  # Periodic evaluation must not recompile: one step per (experiment, kind).
  key = (id(exp), kind)
  if key not in _STEPS or _STEPS[key][0] is not exp:
    _STEPS[key] = (exp, _compile(exp, feature_fn))
  return _STEPS[key][1]


def extract_features(exp, variables, split: str, *, feature_fn=None,
                     max_examples: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """(features (N, D) float32, labels (N,) int32) of every example of `split` (or the first
  max_examples), padding removed. feature_fn(variables, images) -> (N, D) defaults to the
  model's `features` method; `raw_pixels` gives the flattened pixels."""
  if feature_fn is None:
    step = _cached_step(exp, "features", model_features(exp))
  elif feature_fn is raw_pixels:
    step = _cached_step(exp, "raw_pixels", raw_pixels)
  else:
    step = _compile(exp, feature_fn)
  local = exp.config.eval_batch_size // jax.process_count()
  batches = pipeline.eval_batches(exp.source, views.single_view(exp.config.data, train=False),
                                  split=split, local_batch=local,
                                  process_index=jax.process_index(),
                                  process_count=jax.process_count(),
                                  max_examples=max_examples or None)
  feats, labels = [], []
  for batch in batches:
    f, y, m = step(variables, global_batch(batch, exp.mesh))
    keep = np.asarray(m).astype(bool)
    feats.append(np.asarray(f)[keep])
    labels.append(np.asarray(y)[keep])
  return np.concatenate(feats), np.concatenate(labels).astype(np.int32)


def score_features(train_x, train_y, test_x, test_y, *, num_classes: int,
                   settings: dict | None = None) -> dict:
  """Linear-probe and kNN top-1 of test from train features; the evaluator's metrics."""
  s = dict(DEFAULTS, **(settings or {}))
  probe = linear_probe.linear_probe(train_x, train_y, test_x, test_y, num_classes=num_classes,
                                    l2_grid=tuple(s["l2_grid"]), max_iter=int(s["max_iter"]))
  knn_top1 = knn.knn_accuracy(train_x, train_y, test_x, test_y, num_classes=num_classes,
                              k=int(s["knn_k"]), temperature=float(s["knn_temperature"]))
  return {"linear_probe_accuracy": probe["accuracy"], "knn_accuracy": knn_top1,
          "probe_l2": probe["l2"], "probe_iterations": float(probe["iterations"]),
          "feature_dim": float(train_x.shape[1]), "num_train_examples": int(len(train_y)),
          "num_examples": int(len(test_y))}


def representation_eval(exp, variables, split: str = "test", *, feature_fn=None) -> dict:
  """EVALUATORS['representation']: linear probe and kNN of `split` from the train split."""
  settings = settings_from_config(exp.config)
  train_x, train_y = extract_features(exp, variables, "train", feature_fn=feature_fn,
                                      max_examples=int(settings["max_train_examples"]))
  test_x, test_y = extract_features(exp, variables, split, feature_fn=feature_fn)
  return score_features(train_x, train_y, test_x, test_y,
                        num_classes=exp.source.num_classes, settings=settings)
