"""Two processes x 4 CPU devices on loopback train like one process x 8, and share checkpoints.

The train stream is sharded per host (each host reads examples process_index::process_count
with its own shuffle), so a 2-host run sees different batches than a 1-host run of the same
config. The expectation is therefore computed in this process on 8 devices from the global
batches the two hosts build -- host 0's local batch on devices 0-3, host 1's on 4-7 -- and
the 2-process losses must match it; the 2-process checkpoint must then resume in a
1-process run.
"""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np

from helpers import config
from jaxvision import objectives
from jaxvision.data import pipeline, views
from jaxvision.parallel import global_batch
from jaxvision.train import loop
from jaxvision.train.optim import make_optimizer
from jaxvision.train.step import compile_train_step

STEPS = 12
OVERRIDES = ["--config.batch_size=32", "--config.log_every_steps=1",
             "--config.eval_every_steps=1000", "--config.checkpoint_every_steps=6",
             # Plain SGD: Adam would amplify the all-reduce's rounding (see test_parallel).
             "--config.optimizer=sgd", "--config.learning_rate=0.05"]


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def train_command(workdir, steps, *extra):
  return [sys.executable, "-m", "jaxvision.cli", "train", "--config",
          "configs/lenet5_digits.py", "--workdir", str(workdir),
          f"--config.num_train_steps={steps}", *OVERRIDES, *extra]


def env():
  return dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")


def run_two_processes(workdir, steps):
  port = free_port()
  procs = [subprocess.Popen(
      train_command(workdir, steps, "--cpu-devices", "4",
                    f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
                    f"--process_id={pid}", "--config.host_timeout_secs=60"),
      env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for pid in range(2)]
  try:
    outputs = [p.communicate(timeout=300) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, (_, err) in zip(procs, outputs):
    assert p.returncode == 0, err[-3000:]


def train_losses(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  return {r["step"]: r["loss"] for r in records if r["split"] == "train"}


def emulated_two_host_losses(steps):
  """One process, 8 devices, fed the concatenation of both hosts' local batches."""
  cfg = config("lenet5_digits", f"--config.num_train_steps={steps}", *OVERRIDES)
  exp = loop.build_experiment(cfg, "unused")
  assert exp.mesh.size == 8
  tx, schedule = make_optimizer(cfg, exp.total_steps)
  init_rng, step_rng = jax.random.split(jax.random.key(cfg.seed))
  state = loop._init_state(exp, tx, init_rng)
  objective = objectives.get_objective(cfg.objective, exp.model, cfg)
  step = compile_train_step(exp.mesh, loss_fn=objective.loss_fn, tx=tx, schedule=schedule,
                            base_rng=step_rng)
  view = views.single_view(cfg.data, train=True)
  hosts = [pipeline.train_batches(exp.source, view, local_batch=cfg.batch_size // 2,
                                  seed=cfg.seed, process_index=i, process_count=2)
           for i in range(2)]
  losses = []
  for _ in range(steps):
    parts = [next(h) for h in hosts]
    batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    state, metrics = step(state, global_batch(batch, exp.mesh))
    losses.append(float(metrics["loss"]))
  return np.array(losses)


def test_two_processes_match_and_their_checkpoint_resumes_in_one(tmp_path):
  workdir = tmp_path / "w"
  run_two_processes(workdir, STEPS)
  logged = train_losses(workdir)
  assert sorted(logged) == list(range(1, STEPS + 1))
  expected = emulated_two_host_losses(STEPS)
  np.testing.assert_allclose([logged[s] for s in range(1, STEPS + 1)], expected, rtol=1e-5)
  assert abs(expected[-1] - expected[0]) > 1e-3  # training moved the loss
  steps_saved = sorted(int(d) for d in os.listdir(workdir / "checkpoints") if d.isdigit())
  assert steps_saved == [STEPS // 2, STEPS]

  # One process x 8 devices resumes the 2-process checkpoint and trains on.
  proc = subprocess.run(train_command(workdir, STEPS + 4, "--cpu-devices", "8"), env=env(),
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert f"resuming at step {STEPS}" in proc.stdout
  resumed = train_losses(workdir)
  assert sorted(resumed) == list(range(1, STEPS + 5))
  assert all(resumed[s] == logged[s] for s in range(1, STEPS + 1))
  assert all(np.isfinite(resumed[s]) for s in range(STEPS + 1, STEPS + 5))
