"""A run killed with SIGKILL and restarted ends bitwise identical to an uninterrupted run."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import orbax.checkpoint as ocp
import jax

STEPS = 200
ARGS = ["--config", "configs/lenet5_digits.py", "--cpu-devices", "8",
        f"--config.num_train_steps={STEPS}", "--config.checkpoint_every_steps=20",
        "--config.log_every_steps=25", "--config.eval_every_steps=50",
        "--config.batch_size=32"]


def command(workdir):
  return [sys.executable, "-m", "jaxvision.cli", "train", "--workdir", str(workdir), *ARGS]


def env():
  return dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")


def final_params(workdir):
  path = os.path.join(workdir, "checkpoints", str(STEPS), "state")
  restored = ocp.StandardCheckpointer().restore(os.path.abspath(path))
  return restored["params"], restored["opt_state"]


def finished_steps(workdir):
  root = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(root):
    return []
  return sorted(int(d) for d in os.listdir(root) if d.isdigit())


def test_five_sigkills_and_restarts_are_bitwise_identical(tmp_path):
  straight, killed = tmp_path / "straight", tmp_path / "killed"
  subprocess.run(command(straight), env=env(), check=True, capture_output=True, timeout=300)

  rng = random.Random(0)
  kill_points = []
  for _ in range(5):
    before = finished_steps(killed)
    proc = subprocess.Popen(command(killed), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # Wait for progress past the last kill, then kill after a random extra moment: mid-step,
    # mid-save or mid-eval, wherever it falls.
    deadline = time.time() + 240
    while (finished_steps(killed) == before and time.time() < deadline
           and proc.poll() is None):
      time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kill_points.append(finished_steps(killed)[-1])
  assert kill_points[-1] < STEPS, f"the kills came too late to test anything: {kill_points}"

  subprocess.run(command(killed), env=env(), check=True, capture_output=True, timeout=300)
  a, b = final_params(straight), final_params(killed)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    assert np.array_equal(np.asarray(x), np.asarray(y))

  # The metrics log has each (step, split) once, and the same steps as the straight run.
  def records(workdir):
    with open(workdir / "metrics.jsonl") as f:
      return [(r["step"], r["split"]) for r in map(json.loads, f)]

  assert len(set(records(killed))) == len(records(killed))
  assert records(killed) == records(straight)
