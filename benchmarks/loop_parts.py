"""What `jaxvision train` builds for a config, for benchmarks that time parts of its loop.

`build(config_path, overrides, total_steps)` loads the config (with `--config.KEY=VALUE`
overrides, as the CLI takes them), builds the experiment, its optimiser and its compiled
train step over every device, and returns them with a factory of the first phase's host
stream, built as the loop builds it. JAX must be configured (devices) before the call.
"""

import dataclasses


@dataclasses.dataclass
class LoopParts:
  config: object
  exp: object
  tx: object
  init_rng: object
  train_step: object

  def stream(self, start_step: int = 0):
    """The first phase's host stream (numpy batches), as the loop builds it."""
    from jaxvision.data import streams

    phase = self.exp.phases[0]
    return streams.get_stream(phase.stream)(
        self.exp.source, self.config, local_batch=self.config.batch_size,
        seed=self.config.seed, start_step=start_step, process_index=0, process_count=1,
        **dict(phase.stream_args))

  def init_state(self):
    from jaxvision.train import experiment

    return experiment.init_state(self.exp, self.tx, self.init_rng)


def build(config_path: str, overrides, total_steps: int) -> LoopParts:
  import jax

  from jaxvision.config_loading import apply_overrides, load_config_file
  from jaxvision.train import experiment
  from jaxvision.train.optim import make_optimizer
  from jaxvision.train.step import compile_train_step

  config = load_config_file(config_path)
  apply_overrides(config, list(overrides))  # the CLI's parser: tuples, bools, unknown keys
  with config.unlocked():
    config.num_train_steps = total_steps
  exp = experiment.build_experiment(config, "/tmp/unused")
  tx, schedule = make_optimizer(config, exp.total_steps)
  init_rng, step_rng = jax.random.split(jax.random.key(config.seed))
  train_step = compile_train_step(exp.mesh, loss_fn=exp.objective.loss_fn, tx=tx,
                                  schedule=schedule, base_rng=step_rng,
                                  grad_accum_steps=config.get("grad_accum_steps", 1),
                                  ema_decay=config.get("ema_decay", 0.0),
                                  skip_nonfinite=config.skip_nonfinite)
  return LoopParts(config, exp, tx, init_rng, train_step)
