"""launch/tpu_pod.sh end to end on a simulated pod: a `gcloud` shim on PATH runs each worker's
--command as a local process (2 workers x 4 CPU devices on loopback). The fresh "VMs" have
empty homes; the script makes ~/jaxvision, checks Python, prepares the environment (the
test's installed one, via JAXVISION_VENV, so CI does not pip install twice), starts the same
train command on both workers, and re-running it resumes."""

import os
import pathlib
import socket
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def compile_cache(folder):
  """JAX's persistent compilation cache, shared by a test's trainer processes: every worker
  and every re-run compiles the same programs, so all but the first load them (test time
  only: what the scripts do is unchanged)."""
  return {"JAX_COMPILATION_CACHE_DIR": str(folder / "jax_cache"),
          "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
          "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def run_pod(root, workdir, steps):
  env = {k: v for k, v in os.environ.items() if not k.startswith(("TPU_", "SLURM_", "JAX_"))}
  env.update(PATH=f"{REPO / 'tests' / 'shims'}:{env['PATH']}", SHIM_ROOT=str(root),
             SHIM_WORKERS="2", JAXVISION_VENV=str(pathlib.Path(sys.executable).parents[1]),
             JAX_COORDINATOR_PORT=str(free_port()), **compile_cache(root.parent))
  return subprocess.run(
      ["bash", str(REPO / "launch" / "tpu_pod.sh"), "my-tpu", "us-central2-b",
       "configs/lenet5_digits.py", str(workdir), "--cpu-devices", "4",
       f"--config.num_train_steps={steps}", "--config.batch_size=32",
       "--config.log_every_steps=2", "--config.checkpoint_every_steps=2",
       "--config.eval_every_steps=1000", "--config.host_timeout_secs=120"],
      env=env, capture_output=True, text=True, timeout=600)


def test_tpu_pod_script_on_fresh_workers_then_resume(tmp_path):
  root, workdir = tmp_path / "pod", tmp_path / "shared_run"
  root.mkdir()
  first = run_pod(root, workdir, 4)
  logs = [(root / f"worker{i}.log").read_text() for i in range(2)]
  assert first.returncode == 0, first.stderr + logs[0][-3000:] + logs[1][-3000:]
  for i in range(2):
    assert (root / f"worker{i}" / "jaxvision" / "jaxvision" / "cli.py").exists()
  assert "gketpu cluster detected: 2 processes" in logs[0], logs[0][-3000:]
  assert "8 device(s)" in logs[0] and "final test" in logs[0]
  second = run_pod(root, workdir, 6)
  logs = [(root / f"worker{i}.log").read_text() for i in range(2)]
  assert second.returncode == 0, second.stderr + logs[0][-3000:]
  assert "resuming at step 4" in logs[0], logs[0][-3000:]


def test_setup_refuses_an_old_python_and_says_what_to_install(tmp_path):
  old = tmp_path / "python3"
  old.write_text("#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'Python 3.8.10'; exit 0; fi\n"
                 "exit 1\n")  # what an old image answers to the version check
  old.chmod(0o755)
  result = subprocess.run(["bash", str(REPO / "launch" / "setup_worker.sh")],
                          env=dict(os.environ, PYTHON=str(old)), capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 1
  assert "needs Python >= 3.11, this machine has: Python 3.8.10" in result.stderr
  assert "python3.11" in result.stderr


def checkout_copy(folder):
  """The files a user's checkout has, copied (the scripts may add .venv to the checkout)."""
  import shutil
  folder.mkdir()
  for name in ("jaxvision", "configs", "launch"):
    shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
  for name in ("pyproject.toml", "README.md"):
    shutil.copy(REPO / name, folder / name)
  return folder


def script_env(**extra):
  env = {k: v for k, v in os.environ.items()
         if not k.startswith(("TPU_", "SLURM_", "JAX_", "PYTHONPATH"))}
  env.update(PATH=f"{REPO / 'tests' / 'shims'}:{env['PATH']}", JAX_PLATFORMS="cpu",
             JAXVISION_VENV=str(pathlib.Path(sys.executable).parents[1]), **extra)
  return env


TRAIN = ["configs/lenet5_digits.py"]
OVERRIDES = ["--config.batch_size=32", "--config.log_every_steps=2",
             "--config.checkpoint_every_steps=2", "--config.eval_every_steps=1000",
             "--config.host_timeout_secs=120"]


def test_slurm_script_runs_two_tasks_through_srun_then_resumes(tmp_path):
  checkout = checkout_copy(tmp_path / "checkout")
  workdir = tmp_path / "run"
  for steps, expected in ((4, "starting"), (6, "resuming at step 4")):
    env = script_env(SHIM_TASKS="2", SLURM_SUBMIT_DIR=str(checkout),
                     SLURM_JOB_ID=str(1000 + steps), JAX_COORDINATOR_PORT=str(free_port()),
                     **compile_cache(tmp_path))
    # sbatch would run a spooled copy of the script; run it from elsewhere likewise
    result = subprocess.run(["bash", str(checkout / "launch" / "slurm_gpu.sh"), *TRAIN,
                             str(workdir), "--cpu-devices", "4",
                             f"--config.num_train_steps={steps}", *OVERRIDES],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "slurm cluster detected: 2 processes" in result.stderr
    assert f"8 device(s), {steps} steps; {expected}" in result.stdout, result.stdout[-2000:]


def test_local_script_trains_then_resumes(tmp_path):
  checkout = checkout_copy(tmp_path / "checkout")
  workdir = tmp_path / "run"
  for steps, expected in ((2, "starting"), (4, "resuming at step 2")):
    result = subprocess.run(["bash", str(checkout / "launch" / "local_gpu.sh"), *TRAIN,
                             str(workdir), "--cpu-devices", "2",
                             f"--config.num_train_steps={steps}", *OVERRIDES],
                            env=script_env(**compile_cache(tmp_path)), cwd=tmp_path,
                            capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"2 device(s), {steps} steps; {expected}" in result.stdout, result.stdout[-2000:]
