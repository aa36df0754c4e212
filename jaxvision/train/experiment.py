"""An experiment: the config checked against the data and the devices, and what it builds.

`build_experiment` is the one place a config becomes a run (source, model, mesh, objective,
step count); the train loop, `jaxvision eval`, `report` and `zero-shot` build theirs here,
and `jaxvision bench` builds its model with `make_model` and its dtype from `DTYPES`.
Everything that can be wrong with the input is checked before the first step, so a mistake
costs seconds, not a compiled model.

Imports neither TensorFlow nor the data package at module level: `bench` runs on hosts
that may lack them (they are imported inside build_experiment).
"""

import dataclasses
import math

import jax
import jax.numpy as jnp

from jaxvision import models, objectives, paths
from jaxvision.errors import UserError
from jaxvision.parallel import make_mesh, replicated_sharding
from jaxvision.train.optim import make_optimizer
from jaxvision.train.state import create_state

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


@dataclasses.dataclass
class Experiment:
  config: object
  workdir: str
  source: object  # jaxvision.data.sources.Source
  model: object
  mesh: object
  total_steps: int
  input_shape: tuple[int, int, int]
  objective: object  # jaxvision.objectives: loss_fn, train_stream, evaluation
  phases: tuple = ()  # jaxvision.objectives.phases.Phase: the stretches the loop runs

  @property
  def eval_split(self) -> str:
    """What evaluation during training reads: the held-out validation split when the config
    carves one (data.validation_examples), else the test split."""
    return "validation" if self.source.held_out else "test"


def _positive(config, key):
  value = config[key]
  if not isinstance(value, (int, float)) or value <= 0:
    raise UserError(f"{key} must be positive, got {value!r}")


def make_model(name: str, *, num_classes: int, dtype: str, settings: dict):
  """The registry's model `name` with its settings; a UserError naming a wrong one."""
  if dtype not in DTYPES:
    raise UserError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
  try:
    return models.get_model(name, num_classes=num_classes, dtype=DTYPES[dtype], **settings)
  except KeyError as e:
    raise UserError(e.args[0]) from None
  except TypeError as e:
    raise UserError(f"model {name!r} does not take these settings: {e}") from None
  except ValueError as e:  # a setting the model refuses when it is built (e.g. its encoder)
    raise UserError(f"model {name!r}: {e}") from None


def build_experiment(config, workdir: str) -> Experiment:
  """Validates the config against the data and devices; builds the model."""
  from jaxvision.data import sources, streams, views  # TensorFlow: see the module docstring
  from jaxvision.evaluate import evaluators

  if not workdir:
    raise UserError("--workdir is required: the folder for checkpoints and metrics")
  for key in ("batch_size", "log_every_steps", "eval_every_steps", "checkpoint_every_steps"):
    _positive(config, key)
  mesh = make_mesh()
  devices = mesh.size
  for key in ("batch_size", "eval_batch_size"):
    if config[key] % devices:
      raise UserError(f"{key}={config[key]} is not divisible by the {devices} devices; "
                      f"use a multiple of {devices}, e.g. {devices * max(1, config[key] // devices)}")
  accum = config.get("grad_accum_steps", 1)
  if not isinstance(accum, int) or accum < 1:
    raise UserError(f"grad_accum_steps must be a positive integer, got {accum!r}")
  if (config.batch_size // devices) % accum:
    raise UserError(f"batch_size={config.batch_size} gives {config.batch_size // devices} "
                    f"examples per device, which do not split into grad_accum_steps={accum} "
                    f"equal micro-batches; use a batch_size divisible by {devices * accum}")
  ema = config.get("ema_decay", 0.0)
  if not isinstance(ema, (int, float)) or not 0.0 <= ema < 1.0:
    raise UserError(f"ema_decay must be in [0, 1) (0 turns the EMA off), got {ema!r}")
  if config.dtype not in DTYPES:
    raise UserError(f"unknown dtype {config.dtype!r}; valid: {', '.join(DTYPES)}")
  source = sources.get_source(config.data)
  views.check_data_config(config.data)  # else mistakes surface inside tf.data tracing
  steps_per_epoch = source.num_examples["train"] // config.batch_size
  if config.num_train_steps == 0 or config.num_train_steps < -1:
    # -1 (the default) means "train for num_epochs"; any other non-positive count is a typo
    # that would otherwise silently train for num_epochs.
    raise UserError(f"num_train_steps must be a positive number of steps, or -1 to train for "
                    f"num_epochs; got {config.num_train_steps}")
  if config.num_train_steps > 0:
    total_steps = config.num_train_steps
  elif config.num_epochs > 0:
    total_steps = max(1, math.ceil(config.num_epochs * steps_per_epoch))
  else:
    raise UserError("set num_train_steps or num_epochs to a positive number")
  if steps_per_epoch == 0:
    raise UserError(f"batch_size={config.batch_size} exceeds the {source.num_examples['train']}"
                    " training examples; use a smaller batch_size")
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  num_classes = kwargs.pop("num_classes", source.num_classes)
  if num_classes < source.num_classes:
    raise UserError(f"{source.name} has labels 0..{source.num_classes - 1} but "
                    f"model.num_classes={num_classes}; remove model.num_classes or raise it")
  model = make_model(config.model.name, num_classes=num_classes, dtype=config.dtype,
                     settings=kwargs)
  channels = source.image_shape[-1]
  input_shape = (config.data.image_size, config.data.image_size, channels)
  objective = objectives.get_objective(config.objective, model, config)
  # A method in phases (Tri-Net's rounds) sets the run's length by them.
  phases = objectives.run_phases(objective, config, workdir, total_steps)
  total_steps = phases[-1].end_step
  for kind, table, name in ([("train stream", streams.STREAMS, p.stream) for p in phases]
                            + [("evaluator", evaluators.EVALUATORS, objective.evaluation)]):
    if name not in table:
      raise UserError(f"objective {config.objective!r} needs the {kind} {name!r}, which is "
                      f"not registered; known: {', '.join(sorted(table))}")
  return Experiment(config, workdir, source, model, mesh, total_steps, input_shape, objective,
                    phases)


def run_info(exp: Experiment) -> dict:
  return {"model": exp.config.model.name, "num_classes": exp.model.num_classes,
          "model_settings": {k: v for k, v in exp.config.model.items() if k != "name"},
          "input_shape": list(exp.input_shape)}


def init_state(exp: Experiment, tx, rng):
  inputs = objectives.init_inputs(exp.objective, exp.input_shape)
  ema = bool(exp.config.get("ema_decay", 0.0))

  def init_fn(r):
    state = create_state(exp.model, tx, r, exp.input_shape, inputs=inputs, ema=ema,
                         loss_scale=exp.config.dtype == "float16")
    return state.replace(model_state=objectives.init_model_state(exp.objective,
                                                                 state.model_state))

  init = jax.jit(init_fn, out_shardings=replicated_sharding(exp.mesh))
  try:
    return init(rng)
  except (ValueError, TypeError) as e:  # e.g. an image too small for the architecture
    raise UserError(f"model {exp.config.model.name!r} cannot take "
                    f"{exp.input_shape} inputs: {str(e).splitlines()[0]}") from None



def load_trained(config, workdir: str):
  """(experiment, state) of the latest checkpoint in WORKDIR, for evaluation and reports.

  WORKDIR may also be an import-weights folder: its weights are placed in a fresh state of
  the config's model (which must be the imported model with the same class count).
  """
  from jaxvision.checkpoint import Checkpointer, check_run_info
  from jaxvision.train.init_from import initialise_from
  from jaxvision.weights.export import is_pretrained_dir

  if workdir and not paths.isdir(paths.join(workdir, "checkpoints")):
    raise UserError(f"no checkpoint in {workdir}/checkpoints; train first with "
                    f"jaxvision train --config ... --workdir {workdir}")
  exp = build_experiment(config, workdir)
  tx, _ = make_optimizer(config, exp.total_steps)
  state = init_state(exp, tx, jax.random.key(config.seed))
  if is_pretrained_dir(workdir):
    # Its checkpoint is a 'weights' item, not a train state: restoring it as one would
    # wrongly set it aside as corrupt.
    return exp, initialise_from(exp, state, workdir, exact=True)
  check_run_info(workdir, run_info(exp), record=False)
  checkpointer = Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
  try:
    restored = checkpointer.restore(state)
  finally:
    checkpointer.close()
  if restored is None:
    raise UserError(f"no checkpoint in {workdir}/checkpoints; train first with "
                    f"jaxvision train --config ... --workdir {workdir}")
  return exp, restored
