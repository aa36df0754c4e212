"""A gs:// workdir against a real GCS emulator on loopback: checkpoints, metrics, run.json,
config.json and TensorBoard land in the bucket; kill -9 and the same command resume from it
to the uninterrupted run's final parameters; no local `gs:` folder appears."""

import json
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

from gcs_server import bucket_files, emulator_env, gcs  # noqa: F401 (the fixture)

STEPS = 30
REPO = pathlib.Path(__file__).resolve().parents[1]
ARGS = ["--config", str(REPO / "configs/lenet5_digits.py"), f"--config.num_train_steps={STEPS}",
        "--config.checkpoint_every_steps=10", "--config.log_every_steps=10",
        "--config.eval_every_steps=1000", "--config.batch_size=32"]


def command(workdir):
  return [sys.executable, "-m", "jaxvision.cli", "train", "--workdir", workdir, *ARGS]


def read_object(url, name):
  with urllib.request.urlopen(f"{url}/storage/v1/b/bucket/o/{name.replace('/', '%2F')}"
                              "?alt=media") as reply:
    return reply.read().decode()


COMPARE = """
import sys
import numpy as np
import orbax.checkpoint as ocp
from jaxvision import paths
paths.configure_object_storage()
a, b = (ocp.StandardCheckpointer().restore(f"gs://bucket/{run}/checkpoints/{sys.argv[1]}/state")
        for run in ("straight", "killed"))
import jax
leaves = jax.tree.leaves(jax.tree.map(lambda x, y: float(np.max(np.abs(np.asarray(x) -
                                                                        np.asarray(y)))),
                                      a["params"], b["params"]))
print("MAXDIFF", max(leaves), len(leaves))
"""


def test_gs_workdir_kill9_resumes_from_the_bucket(gcs, tmp_path):
  env = emulator_env(gcs)
  cwd = tmp_path / "cwd"
  cwd.mkdir()
  repo = str(REPO)
  env["PYTHONPATH"] = repo
  run = lambda workdir: subprocess.run(command(workdir), env=env, cwd=repo,
                                       capture_output=True, text=True, timeout=300)
  straight = run("gs://bucket/straight")
  assert straight.returncode == 0, straight.stderr[-2000:]
  names = bucket_files(gcs, "straight/")
  for expected in ("straight/run.json", "straight/config.json", "straight/metrics.jsonl",
                   f"straight/checkpoints/{STEPS}/_CHECKPOINT_METADATA"):
    assert expected in names, names
  assert any(n.startswith("straight/tensorboard/events.out.tfevents") for n in names)
  assert "straight/lease.json" not in names  # released at the end

  proc = subprocess.Popen(command("gs://bucket/killed"), env=env, cwd=str(cwd),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    # On object stores Orbax marks a finished step with commit_success.txt (no renames).
    if "killed/checkpoints/10/commit_success.txt" in bucket_files(gcs, "killed/"):
      break
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  done = {n.split("/")[2] for n in bucket_files(gcs, "killed/checkpoints/")
          if n.count("/") == 3 and n.endswith("/commit_success.txt")}
  assert proc.returncode == -signal.SIGKILL and done and str(STEPS) not in done, done
  resumed = subprocess.run(command("gs://bucket/killed"), env=env, cwd=str(cwd),
                           capture_output=True, text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "resuming at step" in resumed.stdout, resumed.stdout
  # The killed trainer's lease was left behind; its process is gone, so it is taken over.
  assert "taking over the workdir lease" in resumed.stderr, resumed.stderr[-2000:]
  assert not (cwd / "gs:").exists() and not (tmp_path / "gs:").exists()
  steps = [json.loads(line)["step"] for line in
           read_object(gcs, "killed/metrics.jsonl").splitlines()
           if json.loads(line)["split"] == "train"]
  assert steps == list(range(10, STEPS + 1, 10)), steps  # each interval logged once

  compare = subprocess.run([sys.executable, "-c", COMPARE, str(STEPS)], env=env, cwd=repo,
                           capture_output=True, text=True, timeout=120)
  assert compare.returncode == 0, compare.stderr[-2000:]
  line = [l for l in compare.stdout.splitlines() if l.startswith("MAXDIFF")][0]
  assert float(line.split()[1]) == 0.0 and int(line.split()[2]) > 0, line
