"""One file per method: each builds the loss of one train step from a model.

Contract: an objective has `loss_fn(params, model_state, batch, rng, step) -> (loss,
(metrics, new_model_state))`, where `model_state` holds the mutable collections (e.g.
'batch_stats') and `step` is the state's step before this update (a traced int32: ramps
such as MixMatch's lambda_u read it); the train step is the same for every method.

An objective also names its host-local batch stream (`train_stream`, a key of
jaxvision.data.streams.STREAMS) and its evaluator (`evaluation`, a key of
jaxvision.evaluate.evaluators.EVALUATORS), and may define `init_inputs(input_shape)`: the
positional model inputs to initialise parameters on (default: a dummy image batch),
`init_model_state(model_state)`: the model state with the collections the method itself keeps
across steps added (e.g. MixMatch's distribution-alignment window), and
`prepare_workdir(workdir)`: called before the first step of every (re)start, to write or
check the files the method keeps in the workdir, `stream_args(workdir)`: keyword arguments
its stream receives (its settings, so the stream reads no method block of the config), and
`phases(config, workdir)`: the stretches of the run, each on its own stream
(jaxvision/objectives/phases.py; Tri-Net's rounds).
"""

import jax.numpy as jnp

from jaxvision.errors import UserError
from jaxvision.objectives.phases import Phase, check
from jaxvision.objectives.supervised import Supervised

OBJECTIVES = {"supervised": Supervised}

from jaxvision.objectives.mae import MAEObjective  # noqa: E402

OBJECTIVES["mae"] = MAEObjective

from jaxvision.objectives.labeled_only import SupervisedLabeled  # noqa: E402
from jaxvision.objectives.mixmatch import MixMatch  # noqa: E402
from jaxvision.objectives.trinet import TriNetObjective  # noqa: E402

OBJECTIVES.update(supervised_labeled=SupervisedLabeled, mixmatch=MixMatch,
                  trinet=TriNetObjective)

from jaxvision.objectives.clip import Clip  # noqa: E402

OBJECTIVES["clip"] = Clip

from jaxvision.objectives.flip import FlipPrediction  # noqa: E402
from jaxvision.objectives.jigsaw import Jigsaw  # noqa: E402

OBJECTIVES.update({"flip": FlipPrediction, "jigsaw": Jigsaw})

from jaxvision.objectives.rotation import Rotation  # noqa: E402
from jaxvision.objectives.simclr import SimCLR  # noqa: E402

OBJECTIVES.update({"rotation": Rotation, "simclr": SimCLR})


def get_objective(name: str, model, config):
  if name not in OBJECTIVES:
    raise UserError(f"unknown objective {name!r}; valid: {', '.join(sorted(OBJECTIVES))}")
  return OBJECTIVES[name].from_config(model, config)


def init_inputs(objective, input_shape) -> tuple:
  """The positional inputs `model.init` runs on for this objective."""
  if hasattr(objective, "init_inputs"):
    return tuple(objective.init_inputs(input_shape))
  return (jnp.zeros((2, *input_shape), jnp.float32),)


def init_model_state(objective, model_state):
  """The model state at step 0 with the objective's own collections, if it keeps any."""
  if hasattr(objective, "init_model_state"):
    return objective.init_model_state(model_state)
  return model_state


def run_phases(objective, config, workdir: str, total_steps: int) -> tuple:
  """The objective's phases, or one over all `total_steps` on its train stream."""
  if not hasattr(objective, "phases"):
    args = objective.stream_args(workdir) if hasattr(objective, "stream_args") else {}
    return (Phase("train", 0, total_steps, objective.train_stream,
                  stream_args=tuple(args.items())),)
  plan = tuple(objective.phases(config, workdir))
  check(plan)
  return plan
