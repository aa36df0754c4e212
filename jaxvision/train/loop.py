"""init -> restore -> loop -> eval. The same code on a laptop CPU, a GPU box or a TPU pod.

The experiment (config checked against data and devices, model, objective) is built by
train/experiment.py before anything is written, so a mistake costs seconds, not a compiled
model; this file is the loop over its steps. The steps run in the experiment's phases
(jaxvision/objectives/phases.py: one for most methods, one per round for Tri-Net): a phase
starts with its `prepare` and its own stream, and ends with a log line, an evaluation and a
checkpoint, so a resume inside any phase continues it as an uninterrupted run would.
"""

import errno
import math
import signal
import time

import jax
import numpy as np

from jaxvision import paths
from jaxvision.checkpoint import Checkpointer, check_run_info
from jaxvision.data import streams
from jaxvision.errors import Stopped, UserError
from jaxvision.evaluate import evaluators
from jaxvision.objectives.phases import phase_at
from jaxvision.parallel import prefetch_to_mesh
from jaxvision.train.experiment import Experiment, build_experiment, init_state, run_info
from jaxvision.train.init_from import initialise_from
from jaxvision.train.lease import hold_workdir
from jaxvision.train.metrics_log import MetricsLog
from jaxvision.train.optim import make_optimizer
from jaxvision.train.preemption import PreemptionWatcher
from jaxvision.train.watchdog import ProgressWatchdog
from jaxvision.train.state import count_params, eval_variables
from jaxvision.train.step import compile_train_step

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
  """Trains to config's step count, resuming from WORKDIR; returns the final test metrics.

  Evaluation during training reads the validation split when data.validation_examples
  carves one (logged as 'validation'); the test split is then evaluated once, at the end.
  """
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
  check_run_info(workdir, run_info(exp))
  save_config(config, workdir)
  if hasattr(exp.objective, "prepare_workdir"):
    # Files a method keeps beside its checkpoints, written on the first start and checked
    # on every resume (e.g. the jigsaw permutation set).
    exp.objective.prepare_workdir(workdir)
  tx, schedule = make_optimizer(config, exp.total_steps, exp.phases)
  init_rng, step_rng = jax.random.split(jax.random.key(config.seed))
  state = init_state(exp, tx, init_rng)
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

  def begin_phase(phase, step):
    """The phase's preparation, then its stream from `step` (batches up to its end only)."""
    if phase.prepare is not None:
      phase.prepare(exp, eval_variables(state))
    host = streams.get_stream(phase.stream)(
        exp.source, config, local_batch=local_batch, seed=config.seed, start_step=step,
        process_index=jax.process_index(), process_count=jax.process_count(),
        **dict(phase.stream_args))
    return prefetch_to_mesh(host, exp.mesh, limit=phase.end_step - step)

  phase = phase_at(exp.phases, start_step)
  batches = begin_phase(phase, start_step) if phase is not None else iter(())
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
      if step > phase.end_step:
        phase = phase_at(exp.phases, step - 1)
        batches = begin_phase(phase, step - 1)
        timer, timed_steps = time.time(), 0  # the preparation is not training throughput
      state, metrics = train_step(state, next(batches))
      pending.append(metrics)
      timed_steps += 1
      if watchdog:
        watchdog.kick(step)
      if step == start_step + 1:  # Leave compilation out of the throughput.
        jax.block_until_ready(state)
        timer, timed_steps = time.time(), 0
      phase_end = step == phase.end_step  # the run's last step ends its last phase
      if step % config.log_every_steps == 0 or phase_end:
        check_finite(step)
        means = {k: float(np.mean([float(m[k]) for m in pending])) for k in pending[0]}
        if config.skip_nonfinite:  # the count, and the loss over the steps that were kept
          means["skipped"] = float(sum(float(m["skipped"]) for m in pending))
          kept = [float(m["loss"]) for m in pending if not float(m["skipped"])]
          means["loss"] = float(np.mean(kept)) if kept else float("nan")
        pending = []
        if timed_steps:
          means["images_per_s"] = timed_steps * config.batch_size / (time.time() - timer)
        timer, timed_steps = time.time(), 0
        log.write(step, "train", means)
      if step % config.eval_every_steps == 0 or phase_end:
        final = run_eval(exp, state, exp.eval_split)
        log.write(step, exp.eval_split, final)
        if step == exp.total_steps and exp.eval_split != "test":
          # the test split, once: nothing during the run was chosen by it
          final = run_eval(exp, state, "test")
          log.write(step, "test", final)
        timer, timed_steps = time.time(), 0
      # several hosts agree on stopping once per log interval (and at the end of each phase)
      stopping = watcher.should_stop(step, config.log_every_steps if not phase_end else 1)
      if step % config.checkpoint_every_steps == 0 or phase_end or stopping:
        check_finite(step)  # never save a diverged state over a good one
        checkpointer.save(state, force=stopping)
      if stopping:
        checkpointer.close()
        watcher.checkpoint_saved()
        raise Stopped(f"stopped by {watcher.signal_name} after step {step}; checkpoint saved "
                      f"in {checkpointer.directory}; run the same command to resume",
                      exit_code=128 + (watcher.received or signal.SIGTERM))
  except jax.errors.JaxRuntimeError as error:
    if watchdog is None:
      raise
    watchdog.collective_failed(error)  # several hosts: one line and exit, see watchdog.py
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
