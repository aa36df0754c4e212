"""One file per method: each builds the loss of one train step from a model.

Contract: an objective has `loss_fn(params, model_state, batch, rng) -> (loss, (metrics,
new_model_state))`, where `model_state` holds the mutable collections (e.g. 'batch_stats');
the train step is the same for every method.
"""

from jaxvision.errors import UserError
from jaxvision.objectives.supervised import Supervised

OBJECTIVES = {"supervised": Supervised}


def get_objective(name: str, model, config):
  if name not in OBJECTIVES:
    raise UserError(f"unknown objective {name!r}; valid: {', '.join(sorted(OBJECTIVES))}")
  return OBJECTIVES[name].from_config(model, config)
