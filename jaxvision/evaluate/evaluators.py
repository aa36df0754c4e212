"""Evaluators by name: what "evaluate this run" means for a method.

An evaluator is `fn(exp, variables, split) -> dict of floats`; `exp` is train.experiment.Experiment and
`variables` = {'params': the parameters to evaluate (the EMA when the run keeps one),
**model_state}. The loop calls the objective's evaluator every eval_every_steps and at the
end; `jaxvision eval --workdir` calls it on the latest checkpoint.
"""

import jax

from jaxvision.data import pipeline, views
from jaxvision.evaluate.classification import evaluate, make_eval_step


def classification_eval(exp, variables, split: str = "test", *, predict_fn=None,
                        view=None) -> dict:
  """Top-1/top-5/loss of the model's logits on every example of `split` (center view)."""
  if predict_fn is None:  # the model's own logits: one compiled step per experiment
    eval_step = _default_step(exp)
  else:
    eval_step = make_eval_step(predict_fn, exp.mesh)
  if view is None:  # the center view: one pipeline per split and experiment
    batches = _default_batches(exp, split)
  else:
    batches = _batches(exp, split, view)
  return evaluate(eval_step, variables, batches, exp.mesh)


def _batches(exp, split, view):
  return pipeline.EvalBatches(exp.source, view, split=split,
                              local_batch=exp.config.eval_batch_size // jax.process_count(),
                              process_index=jax.process_index(),
                              process_count=jax.process_count())


# (experiment, its compiled default eval step, its center-view batches by split)
_LAST = [None, None, {}]


def _newest(exp):
  # Periodic evaluation of one run must not recompile nor rebuild its input pipeline; only
  # the newest experiment's are kept, so finished experiments (and their models and data)
  # are not held alive.
  if _LAST[0] is not exp:
    _LAST[:] = [exp, make_eval_step(lambda v, x: exp.model.apply(v, x, train=False),
                                    exp.mesh), {}]
  return _LAST


def _default_step(exp):
  return _newest(exp)[1]


def _default_batches(exp, split):
  cached = _newest(exp)[2]
  if split not in cached:
    cached[split] = _batches(exp, split, views.single_view(exp.config.data, train=False))
  return cached[split]


EVALUATORS = {
    "classification": classification_eval,
}


def trinet_vote_eval(exp, variables, split: str = "test") -> dict:
  """Tri-Net: the accuracy of the vote of its three heads (jaxvision.models.trinet.vote).

  The scores handed to the classification metrics are log(0.5 one_hot(vote) + 0.5 mean of the
  heads' probabilities): a distribution whose argmax is the vote, so top-1 is the vote's
  accuracy and the loss stays a finite cross-entropy.
  """
  from jaxvision.models.trinet import vote

  def predict(v, x):
    logits = exp.model.apply(v, x, train=False)
    probs = jax.numpy.mean(jax.nn.softmax(logits.astype(jax.numpy.float32), -1), axis=1)
    return jax.numpy.log(0.5 * jax.nn.one_hot(vote(logits), probs.shape[-1]) + 0.5 * probs)

  return classification_eval(exp, variables, split, predict_fn=predict)


EVALUATORS["trinet_vote"] = trinet_vote_eval

from jaxvision.evaluate.zero_shot import zero_shot_eval  # noqa: E402  (CLIP)

EVALUATORS["zero_shot"] = zero_shot_eval

from jaxvision.evaluate.representation import representation_eval  # noqa: E402  (SSL)

EVALUATORS["representation"] = representation_eval


def get_evaluator(name: str):
  if name not in EVALUATORS:
    raise KeyError(f"unknown evaluator {name!r}; valid: {', '.join(sorted(EVALUATORS))}")
  return EVALUATORS[name]
