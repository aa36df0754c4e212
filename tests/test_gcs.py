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

import numpy as np
import pytest
from gcs_server import (bucket_files, emulator_env, gcs, gcs_shared,  # noqa: F401 (fixtures)
                        upload, use_emulator_here)

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
import pytest
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


def write_folder(root):
  """A 2-class folder of small grey JPEGs (pixels random: this checks plumbing only)."""
  from PIL import Image

  rng = np.random.default_rng(0)
  for split, count in (("train", 24), ("test", 8)):
    for i in range(count):
      folder = root / split / f"c{i % 2}"
      folder.mkdir(parents=True, exist_ok=True)
      Image.fromarray(rng.integers(0, 256, (20, 18), dtype=np.uint8)).save(
          folder / f"{i:03d}.jpg", quality=90)


FOLDER_OVERRIDES = ["--config.data.name=folder", "--config.data.channels=1",
                    "--config.batch_size=8", "--config.eval_batch_size=8",
                    "--config.num_train_steps=3", "--config.log_every_steps=1",
                    "--config.eval_every_steps=1000", "--config.checkpoint_every_steps=3"]


def test_folder_dataset_in_a_bucket_reads_as_locally_trains_and_reports(gcs_shared, tmp_path,
                                                                       monkeypatch):
  from helpers import config
  from jaxvision.data import sources, streams
  from jaxvision.reporting import report
  from jaxvision.train import loop

  local = tmp_path / "images"
  write_folder(local)
  for f in sorted(local.rglob("*.jpg")):
    upload(gcs_shared, f"folder/{f.relative_to(local)}", f.read_bytes())
  use_emulator_here(gcs_shared, monkeypatch)

  def batches(data_dir, count):
    c = config("lenet5_digits", *FOLDER_OVERRIDES, f"--config.data.dir={data_dir}")
    source = sources.get_source(c.data)
    stream = streams.get_stream("single")(source, c, local_batch=8, seed=0, start_step=0,
                                          process_index=0, process_count=1)
    return source, [next(stream) for _ in range(count)]

  (local_source, local_batches), (gs_source, gs_batches) = (
      batches(d, 4) for d in (str(local), "gs://bucket/folder"))
  assert gs_source.num_examples == local_source.num_examples == {"train": 24, "test": 8}
  assert gs_source.class_names == local_source.class_names == ("c0", "c1")
  for a, b in zip(local_batches, gs_batches):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])

  c = config("lenet5_digits", *FOLDER_OVERRIDES, "--config.data.dir=gs://bucket/folder")
  final = loop.train_and_evaluate(c, "gs://bucket/folder_run")
  assert "accuracy" in final
  names = bucket_files(gcs_shared, "folder_run/")
  assert "folder_run/checkpoints/3/commit_success.txt" in names, names
  assert "folder_run/metrics.jsonl" in names

  # `jaxvision report` on the gs:// workdir: evaluates from the bucket, writes into it.
  written = report.write_report("gs://bucket/folder_run")
  assert written == "gs://bucket/folder_run/report/report.md"
  names = bucket_files(gcs_shared, "folder_run/report/")
  assert {"folder_run/report/report.md", "folder_run/report/confusion.png",
          "folder_run/report/curves.png"} <= set(names), names
  assert "accuracy" in read_object(gcs_shared, "folder_run/report/report.md").lower()
  assert not pathlib.Path("gs:").exists()  # nothing went to a local folder named gs:


def test_import_weights_into_a_bucket_and_back(gcs_shared, tmp_path, monkeypatch):
  from test_weights_io import _resnet18_state_dict

  from jaxvision.errors import UserError
  from jaxvision.weights import export

  sd = _resnet18_state_dict(num_classes=5)
  src = tmp_path / "resnet18.npz"
  np.savez(src, **sd)
  use_emulator_here(gcs_shared, monkeypatch)
  out = "gs://bucket/imported"
  message = export.import_weights_command("torchvision", "resnet18", str(src), out)
  assert f"into {out}" in message
  names = bucket_files(gcs_shared, "imported/")
  assert "imported/run.json" in names and any(
      n.startswith("imported/checkpoints/0/weights/") for n in names), names
  assert export.is_pretrained_dir(out)
  name, num_classes, variables = export.load_pretrained(out)
  assert (name, num_classes) == ("resnet18", 5)
  np.testing.assert_array_equal(variables["params"]["fc"]["kernel"], sd["fc.weight"].T)
  np.testing.assert_array_equal(variables["batch_stats"]["layer1_1"]["bn2"]["mean"],
                                sd["layer1.1.bn2.running_mean"])
  before = bucket_files(gcs_shared, "imported/")
  with pytest.raises(UserError, match="not empty.*nothing was changed"):
    export.import_weights_command("torchvision", "resnet18", str(src), out)
  assert bucket_files(gcs_shared, "imported/") == before
  assert not pathlib.Path("gs:").exists()
