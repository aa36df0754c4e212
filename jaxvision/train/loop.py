"""init -> restore -> loop -> eval. The same code on a laptop CPU, a GPU box or a TPU pod.

Everything that can be wrong with the input (dataset, config values, workdir) is checked
before the first step, so a mistake costs seconds, not a compiled model.
"""

import dataclasses
import errno
import math
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision import models, objectives, paths
from jaxvision.checkpoint import Checkpointer, check_run_info
from jaxvision.data import sources, streams, views
from jaxvision.errors import Stopped, UserError
from jaxvision.evaluate import protocols
from jaxvision.parallel import make_mesh, prefetch_to_mesh, replicated_sharding
from jaxvision.train import evaluators
from jaxvision.train.init_from import initialise_from
from jaxvision.train.lease import hold_workdir
from jaxvision.train.metrics_log import MetricsLog
from jaxvision.train.optim import make_optimizer
from jaxvision.train.preemption import PreemptionWatcher
from jaxvision.train.watchdog import ProgressWatchdog
from jaxvision.train.state import count_params, create_state, eval_variables
from jaxvision.train.step import compile_train_step

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


@dataclasses.dataclass
class Experiment:
  config: object
  workdir: str
  source: sources.Source
  model: object
  mesh: object
  total_steps: int
  input_shape: tuple[int, int, int]
  objective: object  # jaxvision.objectives: loss_fn, train_stream, evaluation


def _positive(config, key):
  value = config[key]
  if not isinstance(value, (int, float)) or value <= 0:
    raise UserError(f"{key} must be positive, got {value!r}")


def build_experiment(config, workdir: str) -> Experiment:
  """Validates the config against the data and devices; builds the model."""
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
  try:
    model = models.get_model(config.model.name, num_classes=num_classes,
                             dtype=DTYPES[config.dtype], **kwargs)
  except KeyError as e:
    raise UserError(e.args[0]) from None
  except TypeError as e:
    raise UserError(f"model {config.model.name!r} does not take these settings: {e}") from None
  channels = source.image_shape[-1]
  input_shape = (config.data.image_size, config.data.image_size, channels)
  objective = objectives.get_objective(config.objective, model, config)
  for kind, table, name in (("train stream", streams.STREAMS, objective.train_stream),
                            ("evaluator", evaluators.EVALUATORS, objective.evaluation)):
    if name not in table:
      raise UserError(f"objective {config.objective!r} needs the {kind} {name!r}, which is "
                      f"not registered; known: {', '.join(sorted(table))}")
  return Experiment(config, workdir, source, model, mesh, total_steps, input_shape, objective)


def _run_info(exp: Experiment) -> dict:
  return {"model": exp.config.model.name, "num_classes": exp.model.num_classes,
          "model_settings": {k: v for k, v in exp.config.model.items() if k != "name"},
          "input_shape": list(exp.input_shape)}


def _init_state(exp: Experiment, tx, rng):
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


def run_eval(exp: Experiment, state, split: str = "test") -> dict:
  """The objective's evaluator on the parameters to evaluate (the EMA when kept)."""
  variables = eval_variables(state)
  return evaluators.get_evaluator(exp.objective.evaluation)(exp, variables, split)


def check_workdir_writable(workdir: str) -> None:
  """Fails before any compilation when the workdir cannot hold checkpoints and logs."""
  probe = paths.join(workdir, f".write_test_{jax.process_index()}")
  try:
    paths.makedirs(workdir)
    paths.write_text(probe, "ok")
    paths.remove(probe)
  except OSError as e:  # object stores raise OSError subclasses too (missing bucket, 403)
    raise UserError(f"cannot write to workdir {workdir}: {e.strerror or e}; "
                    "choose a folder you can write to") from None


def save_config(config, workdir: str) -> None:
  """WORKDIR/config.json: what the newest (re)start ran with, for reports and audits."""
  if jax.process_index() == 0:
    paths.write_text(paths.join(workdir, "config.json"),
                     config.to_json_best_effort(indent=2, sort_keys=True))


def first_nonfinite(pending, start_step, skipping=False):
  """(step, metric) of the first non-finite training metric in `pending`, else None.

  With skip_nonfinite the steps that were skipped do not count (their state is unchanged).
  """
  for offset, metrics in enumerate(pending):
    if skipping and float(metrics["skipped"]):
      continue
    for name, value in metrics.items():
      if not math.isfinite(float(value)):
        return start_step + offset, name
  return None


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains to config's step count, resuming from WORKDIR; returns the final test metrics."""
  exp = build_experiment(config, workdir)
  check_workdir_writable(workdir)
  # One writer per workdir, taken before anything in it is written.
  lease = hold_workdir(workdir, config.get("lease_timeout_secs", 60.0))
  try:
    return _train(exp, config, workdir)
  except OSError as e:
    if e.errno not in (errno.ENOSPC, errno.EDQUOT):
      raise
    # metrics.jsonl, TensorBoard or run files hit the full disk (checkpoints say it themselves)
    done = [int(n) for n in paths.listdir(paths.join(workdir, "checkpoints")) if n.isdigit()]
    raise UserError(f"cannot write {e.filename or 'to the workdir'}: {e.strerror}; the last "
                    f"good checkpoint ({max(done, default='none')}) of workdir {workdir} is "
                    "intact; free space and run the same command to resume") from None
  finally:
    if lease is not None:
      lease.release()


def _train(exp, config, workdir: str) -> dict:
  check_run_info(workdir, _run_info(exp))
  save_config(config, workdir)
  if "semi" in config and not config.semi.get("audit_dir", ""):
    # Semi-supervised streams write the labeled subset they drew (labeled_indices.json)
    # beside the checkpoints, so every run can be audited.
    with config.unlocked():
      config.semi.audit_dir = workdir
  if hasattr(exp.objective, "prepare_workdir"):
    # Files a method keeps beside its checkpoints, written on the first start and checked
    # on every resume (e.g. the jigsaw permutation set).
    exp.objective.prepare_workdir(workdir)
  tx, schedule = make_optimizer(config, exp.total_steps)
  init_rng, step_rng = jax.random.split(jax.random.key(config.seed))
  state = _init_state(exp, tx, init_rng)
  checkpointer = Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
  restored = checkpointer.restore(state)
  if restored is not None:
    state = restored
  elif config.get("init_from", ""):  # only a fresh run: a resumed one has its own weights
    state = initialise_from(exp, state, config.init_from)
  start_step = int(jax.device_get(state.step))
  train_step = compile_train_step(exp.mesh, loss_fn=exp.objective.loss_fn, tx=tx,
                                  schedule=schedule, base_rng=step_rng,
                                  grad_accum_steps=config.get("grad_accum_steps", 1),
                                  ema_decay=config.get("ema_decay", 0.0),
                                  skip_nonfinite=config.skip_nonfinite)
  if jax.process_index() == 0:
    where = f"resuming at step {start_step}" if start_step else "starting"
    # an overridden depth (model.stages) is named, else "resnet20" would print beside ResNet-14's count
    stages = config.model.get("stages", None)
    model_name = config.model.name + (f" (stages={tuple(stages)})" if stages else "")
    print(f"{model_name}: {count_params(state.params):,} parameters, "
          f"{exp.source.name} ({exp.source.num_examples['train']:,} train images), "
          f"{exp.mesh.size} device(s), {exp.total_steps} steps; {where}", flush=True)
  log = MetricsLog(workdir, start_step=start_step, total_steps=exp.total_steps)
  local_batch = config.batch_size // jax.process_count()
  batches = streams.get_stream(exp.objective.train_stream)(
      exp.source, config, local_batch=local_batch, seed=config.seed, start_step=start_step,
      process_index=jax.process_index(), process_count=jax.process_count())
  batches = prefetch_to_mesh(batches, exp.mesh, limit=exp.total_steps - start_step)
  watcher = PreemptionWatcher(config.preemption_grace_secs)
  watchdog = None
  if jax.process_count() > 1:
    watchdog = ProgressWatchdog(
        config.host_timeout_secs,
        lambda: f"the last checkpoint is step {checkpointer.latest_good()} in "
                f"{checkpointer.directory}")
  pending, timer, timed_steps, final = [], time.time(), 0, None

  def check_finite(step):
    bad = first_nonfinite(pending, step - len(pending) + 1, config.skip_nonfinite)
    if bad:
      raise UserError(f"training diverged: {bad[1]} is not finite at step {bad[0]}; the last "
                      f"good checkpoint ({checkpointer.latest_good()}) is kept in "
                      f"{checkpointer.directory}; lower learning_rate or add warmup_steps")

  try:
    for step in range(start_step + 1, exp.total_steps + 1):
      state, metrics = train_step(state, next(batches))
      pending.append(metrics)
      timed_steps += 1
      if watchdog:
        watchdog.kick(step)
      if step == start_step + 1:  # Leave compilation out of the throughput.
        jax.block_until_ready(state)
        timer, timed_steps = time.time(), 0
      if step % config.log_every_steps == 0 or step == exp.total_steps:
        check_finite(step)
        means = {k: float(np.mean([float(m[k]) for m in pending])) for k in pending[0]}
        if config.skip_nonfinite:  # the count, and the loss over the steps that were kept
          means["skipped"] = float(sum(float(m["skipped"]) for m in pending))
          kept = [float(m["loss"]) for m in pending if not float(m["skipped"])]
          means["loss"] = float(np.mean(kept)) if kept else float("nan")
        pending = []
        if timed_steps:
          means["images_per_sec"] = timed_steps * config.batch_size / (time.time() - timer)
        timer, timed_steps = time.time(), 0
        log.write(step, "train", means)
      if step % config.eval_every_steps == 0 or step == exp.total_steps:
        final = run_eval(exp, state)
        log.write(step, "test", final)
        timer, timed_steps = time.time(), 0
      # several hosts agree on stopping once per log interval (and at the last step)
      stopping = watcher.should_stop(
          step, config.log_every_steps if step != exp.total_steps else 1)
      if step % config.checkpoint_every_steps == 0 or step == exp.total_steps or stopping:
        check_finite(step)  # never save a diverged state over a good one
        checkpointer.save(state, force=stopping)
      if stopping:
        checkpointer.close()
        watcher.checkpoint_saved()
        raise Stopped(f"stopped by {watcher.signal_name} after step {step}; checkpoint saved "
                      f"in {checkpointer.directory}; run the same command to resume",
                      exit_code=128 + (watcher.received or signal.SIGTERM))
  finally:
    if watchdog:
      watchdog.close()
    watcher.close()
    checkpointer.close()
    log.close()
  if final is None:
    print(f"already trained to step {start_step}; evaluating the final checkpoint", flush=True)
    final = run_eval(exp, state)
  return final


def load_trained(config, workdir: str):
  """(experiment, state) of the latest checkpoint in WORKDIR, for evaluation and reports.

  WORKDIR may also be an import-weights folder: its weights are placed in a fresh state of
  the config's model (which must be the imported model with the same class count).
  """
  from jaxvision.weights.export import is_pretrained_dir

  if workdir and not paths.isdir(paths.join(workdir, "checkpoints")):
    raise UserError(f"no checkpoint in {workdir}/checkpoints; train first with "
                    f"jaxvision train --config ... --workdir {workdir}")
  exp = build_experiment(config, workdir)
  tx, _ = make_optimizer(config, exp.total_steps)
  state = _init_state(exp, tx, jax.random.key(config.seed))
  if is_pretrained_dir(workdir):
    # Its checkpoint is a 'weights' item, not a train state: restoring it as one would
    # wrongly set it aside as corrupt.
    return exp, initialise_from(exp, state, workdir, exact=True)
  check_run_info(workdir, _run_info(exp), record=False)
  checkpointer = Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
  try:
    restored = checkpointer.restore(state)
  finally:
    checkpointer.close()
  if restored is None:
    raise UserError(f"no checkpoint in {workdir}/checkpoints; train first with "
                    f"jaxvision train --config ... --workdir {workdir}")
  return exp, restored


def evaluate_workdir(config, workdir: str, split: str = "test", mode: str = "center") -> dict:
  """Evaluates the latest checkpoint in WORKDIR on the full `split`.

  Classification runs take a protocol `mode` (center, ten_crop, dense); other methods run
  their objective's evaluator (e.g. linear probe and kNN for self-supervised runs).
  """
  from jaxvision.weights.export import apply_preset, is_pretrained_dir

  if workdir and is_pretrained_dir(workdir):
    config = apply_preset(config, workdir)  # the reference's preprocessing for its weights
  protocols.check_protocol(config.data, mode)
  exp, state = load_trained(config, workdir)
  step = int(jax.device_get(state.step))
  if exp.objective.evaluation != "classification":
    if mode != "center":
      raise UserError(f"--mode {mode} is for classifiers; objective {config.objective!r} "
                      f"is evaluated by its {exp.objective.evaluation!r} evaluator")
    return dict(run_eval(exp, state, split), step=step)
  variables = eval_variables(state)
  predict_fn = protocols.make_predict_fn(exp.model, mode, flip=config.data.dense_flip,
                                         data_config=config.data)
  view = None if mode == "center" else protocols.eval_view(config.data, mode)
  metrics = evaluators.classification_eval(exp, variables, split, predict_fn=predict_fn,
                                           view=view)
  return dict(metrics, step=step)
