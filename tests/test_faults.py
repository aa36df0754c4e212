"""Faults: preemption signals, corrupt checkpoints, unwritable workdirs, diverging loss."""

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import run_cli

DIGITS = ["--config", "configs/lenet5_digits.py"]


def checkpoint_steps(workdir):
  root = os.path.join(workdir, "checkpoints")
  return sorted(int(d) for d in os.listdir(root) if d.isdigit()) if os.path.isdir(root) else []


def _sigterm_after_first_log(cmd, workdir):
  """Runs cmd, sends SIGTERM once the run has logged its first metrics; returns (exit code,
  stderr, seconds from the signal to the exit)."""
  env = dict(os.environ, PYTHONPATH=os.getcwd())
  proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  metrics = os.path.join(workdir, "metrics.jsonl")
  deadline = time.time() + 180
  while not (os.path.exists(metrics) and os.path.getsize(metrics)) and time.time() < deadline:
    time.sleep(0.1)
  sent = time.time()
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=60)
  return proc.returncode, err, time.time() - sent


def test_sigterm_saves_and_exits_then_resumes(tmp_path):
  workdir = str(tmp_path / "w")
  cmd = [sys.executable, "-m", "jaxvision.cli", "train", "--workdir", workdir, *DIGITS,
         "--config.num_train_steps=100000", "--config.checkpoint_every_steps=100000",
         "--config.log_every_steps=10", "--config.eval_every_steps=100000"]
  returncode, err, seconds = _sigterm_after_first_log(cmd, workdir)
  assert returncode == 128 + signal.SIGTERM
  assert seconds < 30  # preemption_grace_secs
  assert "stopped by SIGTERM after step" in err and "run the same command" in err
  step = int(err.split("after step ")[1].split(";")[0])
  assert checkpoint_steps(workdir) == [step]
  code, out, err = run_cli("train", "--workdir", workdir, *DIGITS,
                           f"--config.num_train_steps={step + 5}")
  assert code == 0, err
  assert f"resuming at step {step}" in out


def test_slow_shutdown_after_the_stop_checkpoint_says_it_was_saved(tmp_path):
  # A shutdown that outlives preemption_grace_secs after the checkpoint is committed (TF/XLA
  # teardown on a loaded machine took over 30 s) used to be reported as "no checkpoint".
  workdir = str(tmp_path / "w")
  argv = ["jaxvision", "train", "--workdir", workdir, *DIGITS,
          "--config.num_train_steps=100000", "--config.checkpoint_every_steps=100000",
          "--config.log_every_steps=10", "--config.eval_every_steps=100000",
          "--config.preemption_grace_secs=8"]
  hang = ("import atexit, sys, time; atexit.register(time.sleep, 120); "
          f"sys.argv = {argv!r}; from jaxvision import cli; sys.exit(cli.main())")
  returncode, err, _ = _sigterm_after_first_log([sys.executable, "-c", hang], workdir)
  assert returncode == 128 + signal.SIGTERM
  assert "stopped by SIGTERM after step" in err
  assert "the checkpoint is saved, but shutting down took longer" in err
  assert "no checkpoint within" not in err
  step = int(err.split("after step ")[1].split(";")[0])
  assert checkpoint_steps(workdir) == [step]


def _train(workdir, steps, *extra):
  return run_cli("train", "--workdir", workdir, *DIGITS, f"--config.num_train_steps={steps}",
                 "--config.checkpoint_every_steps=10", "--config.log_every_steps=10",
                 "--config.eval_every_steps=1000", *extra)


def _truncate_largest_file(folder):
  files = [os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs]
  largest = max(files, key=os.path.getsize)
  with open(largest, "r+b") as f:
    f.truncate(os.path.getsize(largest) // 2)


def _remove_array_data(folder):
  """A missing directory entry: the folder holding the arrays written by process 0."""
  import shutil
  shutil.rmtree(os.path.join(folder, "state", "ocdbt.process_0"))


@pytest.mark.parametrize("damage", [_truncate_largest_file, _remove_array_data])
def test_corrupt_newest_checkpoint_is_set_aside(tmp_path, damage):
  workdir = str(tmp_path / "w")
  code, _, err = _train(workdir, 30)
  assert code == 0, err
  assert checkpoint_steps(workdir) == [10, 20, 30]
  damage(os.path.join(workdir, "checkpoints", "30"))
  code, out, err = _train(workdir, 40)
  assert code == 0, err
  assert "checkpoints/30 is unreadable" in err and "moved to" in err
  assert "resuming at step 20" in out
  kept = os.listdir(os.path.join(workdir, "checkpoints.corrupt"))
  assert len(kept) == 1 and kept[0].startswith("30-")  # set aside, not deleted


def test_unwritable_workdir_fails_before_training(tmp_path):
  blocker = tmp_path / "a_file"
  blocker.write_text("not a folder")
  code, out, err = _train(str(blocker / "w"), 10)
  assert code == 2 and err.startswith("jaxvision: error: cannot write to workdir")
  assert err.count("\n") == 1 and "parameters" not in out


def test_diverging_loss_stops_with_step_and_metric_and_keeps_checkpoint(tmp_path):
  workdir = str(tmp_path / "w")
  code, _, err = _train(workdir, 20)
  assert code == 0, err
  code, _, err = _train(workdir, 60, "--config.model.name=lenet5_relu",
                        "--config.learning_rate=1e12", "--config.optimizer=sgd")
  # Another model in the same workdir is refused; use a fresh one for the divergence.
  assert code == 2
  workdir = str(tmp_path / "w2")
  code, _, err = _train(workdir, 60, "--config.model.name=lenet5_relu",
                        "--config.learning_rate=1e12", "--config.optimizer=sgd",
                        "--config.checkpoint_every_steps=1", "--config.log_every_steps=50")
  assert code == 2 and "training diverged: loss is not finite at step" in err
  bad_step = int(err.split("at step ")[1].split(";")[0])
  assert checkpoint_steps(workdir) and max(checkpoint_steps(workdir)) < bad_step


def test_full_disk_at_save_is_an_error_with_the_last_checkpoint_intact(tmp_path, monkeypatch):
  import errno

  import orbax.checkpoint as ocp
  workdir = str(tmp_path / "w")
  assert _train(workdir, 20)[0] == 0
  real_save = ocp.CheckpointManager.save

  def save_on_full_disk(self, step, *args, **kwargs):
    if step > 20:
      raise OSError(errno.ENOSPC, "No space left on device")
    return real_save(self, step, *args, **kwargs)

  monkeypatch.setattr(ocp.CheckpointManager, "save", save_on_full_disk)
  code, _, err = _train(workdir, 40)
  assert code == 2 and err.count("\n") == 1
  assert "could not write checkpoint 30" in err and "No space left on device" in err
  assert "the last good checkpoint (20) of workdir" in err and workdir in err
  monkeypatch.undo()
  code, out, err = _train(workdir, 40)
  assert code == 0 and "resuming at step 20" in out


def test_skip_nonfinite_skips_and_counts(tmp_path):
  import json

  import numpy as np
  import orbax.checkpoint as ocp
  workdir = str(tmp_path / "w")
  code, _, err = _train(workdir, 30, "--config.model.name=lenet5_relu",
                        "--config.learning_rate=1e12", "--config.optimizer=sgd",
                        "--config.skip_nonfinite=True")
  assert code == 0, err
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    train = [r for r in map(json.loads, f) if r["split"] == "train"]
  assert sum(r["skipped"] for r in train) > 0
  state = ocp.StandardCheckpointer().restore(os.path.join(workdir, "checkpoints", "30", "state"))
  assert all(np.all(np.isfinite(np.asarray(x))) for x in
             __import__("jax").tree.leaves(state["params"]))
