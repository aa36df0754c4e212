"""gs:// against a real GCS emulator on loopback (fake-gcs-server), no mocks of our code.

A workdir in a bucket: checkpoints, metrics, run.json, config.json and TensorBoard land in
it; kill -9 and the same command resume from it to the uninterrupted run's final
parameters, setting an unreadable checkpoint aside in the bucket on the way; no local `gs:`
folder appears. An image folder in a bucket reads as the same folder does locally and
trains; `jaxvision report` and import-weights write into the bucket. One emulator serves
the module (each test has its own prefix)."""

import json
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from gcs_server import (bucket_files, delete, emulator_env, gcs_shared,  # noqa: F401
                        upload, use_emulator_here)

STEPS = 30
REPO = pathlib.Path(__file__).resolve().parents[1]
# The training data is an image folder in the bucket too (uploaded once, `bucket_folder`).
ARGS = ["--config", str(REPO / "configs/lenet5_digits.py"), f"--config.num_train_steps={STEPS}",
        "--config.checkpoint_every_steps=5", "--config.log_every_steps=10",
        "--config.eval_every_steps=1000", "--config.batch_size=16",
        "--config.eval_batch_size=8", "--config.data.name=folder", "--config.data.channels=1",
        "--config.data.dir=gs://bucket/folder"]


def write_folder(root):
  """A 2-class folder of small grey JPEGs (pixels random: this checks plumbing only)."""
  from PIL import Image

  rng = np.random.default_rng(0)
  for split, count in (("train", 64), ("test", 8)):
    for i in range(count):
      folder = root / split / f"c{i % 2}"
      folder.mkdir(parents=True, exist_ok=True)
      Image.fromarray(rng.integers(0, 256, (20, 18), dtype=np.uint8)).save(
          folder / f"{i:03d}.jpg", quality=90)


@pytest.fixture(scope="module")
def bucket_folder(gcs_shared, tmp_path_factory):
  """The same image folder locally (returned) and at gs://bucket/folder."""
  local = tmp_path_factory.mktemp("images")
  write_folder(local)
  for f in sorted(local.rglob("*.jpg")):
    upload(gcs_shared, f"folder/{f.relative_to(local)}", f.read_bytes())
  return local


def command(workdir):
  return [sys.executable, "-m", "jaxvision.cli", "train", "--workdir", workdir, *ARGS]


def read_object(url, name):
  with urllib.request.urlopen(f"{url}/storage/v1/b/bucket/o/{name.replace('/', '%2F')}"
                              "?alt=media") as reply:
    return reply.read().decode()


def committed(url, prefix):
  """Steps whose checkpoint is complete: on object stores Orbax marks a finished step with
  commit_success.txt (no renames)."""
  return sorted(int(n.split("/")[2]) for n in bucket_files(url, f"{prefix}/checkpoints/")
                if n.count("/") == 3 and n.endswith("/commit_success.txt"))


def final_params(url, run):
  import orbax.checkpoint as ocp
  return ocp.StandardCheckpointer().restore(
      f"gs://bucket/{run}/checkpoints/{STEPS}/state")["params"]


def test_gs_workdir_kill9_resumes_from_the_bucket(gcs_shared, bucket_folder, tmp_path,
                                                  monkeypatch):
  gcs = gcs_shared
  env = emulator_env(gcs)
  # The restart loads what the first two compiled (JAX's persistent cache; test time only).
  env.update(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_cache"),
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
  cwd = tmp_path / "cwd"
  cwd.mkdir()
  env["PYTHONPATH"] = str(REPO)
  # The uninterrupted run and the one to be killed run side by side (wall time).
  straight = subprocess.Popen(command("gs://bucket/straight"), env=env, cwd=str(REPO),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  proc = subprocess.Popen(command("gs://bucket/killed"), env=env, cwd=str(cwd),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None and 10 not in committed(gcs, "killed"):
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  done = committed(gcs, "killed")
  assert proc.returncode == -signal.SIGKILL and 5 in done and 10 in done, done
  assert STEPS not in done, done
  out, err = straight.communicate(timeout=300)
  assert straight.returncode == 0, err[-2000:]
  names = bucket_files(gcs, "straight/")
  for expected in ("straight/run.json", "straight/config.json", "straight/metrics.jsonl",
                   f"straight/checkpoints/{STEPS}/_CHECKPOINT_METADATA"):
    assert expected in names, names
  assert any(n.startswith("straight/tensorboard/events.out.tfevents") for n in names)
  assert "straight/lease.json" not in names  # released at the end

  # The newest checkpoint the killed run left loses its array data (as test_faults does
  # locally): the restart sets it aside in the bucket and resumes from the one before.
  newest = done[-1]
  for name in bucket_files(gcs, f"killed/checkpoints/{newest}/state/ocdbt.process_0/"):
    delete(gcs, name)
  resumed = subprocess.run(command("gs://bucket/killed"), env=env, cwd=str(cwd),
                           capture_output=True, text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert f"checkpoints/{newest} is unreadable" in resumed.stderr, resumed.stderr[-2000:]
  assert f"moved to gs://bucket/killed/checkpoints.corrupt/{newest}-" in resumed.stderr
  assert f"resuming at step {done[-2]}" in resumed.stdout, resumed.stdout
  kept = bucket_files(gcs, "killed/checkpoints.corrupt/")
  assert kept and all(n.startswith(f"killed/checkpoints.corrupt/{newest}-") for n in kept)
  assert not any(n.startswith(f"killed/checkpoints/{newest}/")
                 for n in bucket_files(gcs, "killed/checkpoints/"))
  # The killed trainer's lease was left behind; its process is gone, so it is taken over.
  assert "taking over the workdir lease" in resumed.stderr, resumed.stderr[-2000:]
  assert not (cwd / "gs:").exists() and not (tmp_path / "gs:").exists()
  steps = [json.loads(line)["step"] for line in
           read_object(gcs, "killed/metrics.jsonl").splitlines()
           if json.loads(line)["split"] == "train"]
  assert steps == list(range(10, STEPS + 1, 10)), steps  # each interval logged once

  import jax

  use_emulator_here(gcs, monkeypatch)
  a, b = final_params(gcs, "straight"), final_params(gcs, "killed")
  diffs = jax.tree.leaves(jax.tree.map(
      lambda x, y: float(np.max(np.abs(np.asarray(x) - np.asarray(y)))), a, b))
  assert len(diffs) > 0 and max(diffs) == 0.0, diffs

  # `jaxvision report` on a gs:// workdir: evaluates (data from the bucket), writes into it.
  from jaxvision.reporting import report

  assert report.write_report("gs://bucket/straight") == "gs://bucket/straight/report/report.md"
  names = bucket_files(gcs, "straight/report/")
  assert {"straight/report/report.md", "straight/report/confusion.png",
          "straight/report/curves.png"} <= set(names), names
  assert "accuracy" in read_object(gcs, "straight/report/report.md").lower()
  assert not pathlib.Path("gs:").exists()  # nothing went to a local folder named gs:

def test_folder_dataset_in_a_bucket_reads_as_locally(gcs_shared, bucket_folder, monkeypatch):
  """The train stream of the folder in the bucket gives the batches of the same folder read
  locally (names listed and files read through jaxvision.paths); it trains in the test above."""
  from helpers import config
  from jaxvision.data import sources, streams

  use_emulator_here(gcs_shared, monkeypatch)

  def batches(data_dir, count):
    c = config("lenet5_digits", *ARGS[2:-1], f"--config.data.dir={data_dir}")
    source = sources.get_source(c.data)
    stream = streams.get_stream("single")(source, c, local_batch=16, seed=0, start_step=0,
                                          process_index=0, process_count=1)
    return source, [next(stream) for _ in range(count)]

  (local_source, local_batches), (gs_source, gs_batches) = (
      batches(d, 5) for d in (str(bucket_folder), "gs://bucket/folder"))
  assert gs_source.num_examples == local_source.num_examples == {"train": 64, "test": 8}
  assert gs_source.class_names == local_source.class_names == ("c0", "c1")
  assert gs_source.reader("train").name(0).startswith("gs://bucket/folder/train/c0/")
  for a, b in zip(local_batches, gs_batches):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])


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


def test_tfds_data_dir_in_a_bucket_reads_the_same_records(gcs_shared, tmp_path, monkeypatch):
  """tfds.data_source over ArrayRecord files in a bucket (ImageNet on a pod)."""
  from test_tfds_random_access import prepared

  from jaxvision.data import sources

  local = tmp_path / "tfds"
  data = prepared(local, "array_record")
  for f in sorted(p for p in local.rglob("*") if p.is_file()):
    upload(gcs_shared, f"tfds/{f.relative_to(local)}", f.read_bytes())
  use_emulator_here(gcs_shared, monkeypatch)
  local_source = sources.get_source(data)
  with data.unlocked():
    data.dir = "gs://bucket/tfds"
  gs_source = sources.get_source(data)
  assert gs_source.num_examples == local_source.num_examples
  for split in ("train", "test"):
    a, b = local_source.reader(split), gs_source.reader(split)
    for i in range(len(a)):
      x, y = a.read(np.int64(i)), b.read(np.int64(i))
      assert x["encoded"].numpy() == y["encoded"].numpy() and int(x["label"]) == int(y["label"])
  assert gs_source.labels("train").tolist() == local_source.labels("train").tolist()
  # read from the bucket (ArrayRecord's own GCS reader), not from a local copy
  assert str(gs_source.reader("train")._data_source().dataset_info.data_dir).startswith(
      "gs://bucket/tfds/")
