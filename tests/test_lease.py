"""One writer per workdir: the lease is created atomically, refused to a second trainer with one
line naming the holder, taken over when stale or when its process is gone, and on object
storage decided by the store's generation precondition."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from gcs_server import emulator_env, gcs  # noqa: F401 (the fixture)
from helpers import run_cli
from jaxvision import paths
from jaxvision.errors import UserError
from jaxvision.train.lease import LEASE_FILE, WorkdirLease


def write_lease(workdir, **fields):
  os.makedirs(workdir, exist_ok=True)
  record = {"host": socket.gethostname(), "pid": os.getpid(), "token": "t",
            "heartbeat": time.time()}
  record.update(fields)
  with open(os.path.join(workdir, LEASE_FILE), "w") as f:
    json.dump(record, f)


def test_second_holder_is_refused_until_the_first_releases(tmp_path):
  first, second = WorkdirLease(str(tmp_path), 60), WorkdirLease(str(tmp_path), 60)
  first.acquire()
  held = json.loads((tmp_path / LEASE_FILE).read_text())
  assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
  with pytest.raises(UserError) as e:
    second.acquire()
  assert f"{socket.gethostname()} pid {os.getpid()}" in str(e.value)
  first.release()
  assert not (tmp_path / LEASE_FILE).exists()
  second.acquire()
  second.release()


def test_stale_lease_of_another_host_is_taken_over(tmp_path, capsys):
  write_lease(str(tmp_path), host="elsewhere", pid=1, heartbeat=time.time() - 30)
  lease = WorkdirLease(str(tmp_path), timeout_secs=10)
  lease.acquire()
  assert json.loads((tmp_path / LEASE_FILE).read_text())["token"] == lease.token
  assert "taking over the workdir lease of elsewhere pid 1" in capsys.readouterr().err
  lease.release()


def test_fresh_lease_of_another_host_is_respected(tmp_path):
  write_lease(str(tmp_path), host="elsewhere", pid=1)
  with pytest.raises(UserError, match="in use by another trainer \\(elsewhere pid 1"):
    WorkdirLease(str(tmp_path), timeout_secs=60).acquire()


def test_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
  gone = subprocess.Popen([sys.executable, "-c", "pass"])
  gone.wait()
  write_lease(str(tmp_path), pid=gone.pid)  # fresh heartbeat, but nobody behind it
  lease = WorkdirLease(str(tmp_path), timeout_secs=600)
  lease.acquire()
  lease.release()


def test_heartbeat_renews_the_lease(tmp_path):
  lease = WorkdirLease(str(tmp_path), timeout_secs=0.4)  # beats every 0.1 s
  lease.acquire()
  first = json.loads((tmp_path / LEASE_FILE).read_text())["heartbeat"]
  time.sleep(0.5)
  assert json.loads((tmp_path / LEASE_FILE).read_text())["heartbeat"] > first
  lease.release()


def test_object_store_lease_and_the_generation_precondition(gcs, monkeypatch):
  for key, value in emulator_env(gcs).items():
    if key.startswith(("STORAGE_EMULATOR", "TENSORSTORE", "GCSFS", "FSSPEC", "EPATH")):
      monkeypatch.setenv(key, value)
  monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
  import fsspec
  monkeypatch.setitem(fsspec.config.conf, "gs", {"token": "anon"})
  fsspec.filesystem("gs", token="anon").invalidate_cache()
  workdir = "gs://bucket/leased"
  first = WorkdirLease(workdir, 60)
  first.acquire()
  with pytest.raises(UserError, match="in use by another trainer"):
    WorkdirLease(workdir, 60).acquire()
  # Two retries that both read the same stale version: the store lets only one write.
  path = paths.join(workdir, LEASE_FILE)
  _, version = paths.read_versioned(path)
  paths.replace_if(path, "one", version)
  with pytest.raises(paths.PreconditionFailed):
    paths.replace_if(path, "two", version)
  with pytest.raises(paths.PreconditionFailed):
    paths.create_exclusive(path, "three")
  first._stop.set()  # its next beat would find the lease changed


def test_second_trainer_refuses_and_the_first_finishes(tmp_path):
  workdir = str(tmp_path / "w")
  env = dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")
  first = subprocess.Popen(
      [sys.executable, "-m", "jaxvision.cli", "train", "--config", "configs/lenet5_digits.py",
       "--workdir", workdir, "--config.num_train_steps=60", "--config.batch_size=32",
       "--config.checkpoint_every_steps=20", "--config.log_every_steps=20"],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while not os.path.exists(os.path.join(workdir, LEASE_FILE)) and time.time() < deadline:
    time.sleep(0.05)
  code, _, err = run_cli("train", "--config", "configs/lenet5_digits.py", "--workdir", workdir)
  assert code == 2 and err.count("\n") == 1, err
  assert f"is in use by another trainer ({socket.gethostname()} pid {first.pid}" in err, err
  out, ferr = first.communicate(timeout=600)  # the first neither hangs nor fails
  assert first.returncode == 0, ferr[-3000:]
  assert "final test" in out and not os.path.exists(os.path.join(workdir, LEASE_FILE))


def test_lease_of_a_killed_but_unreaped_process_is_taken_over(tmp_path):
  import signal
  zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  zombie.send_signal(signal.SIGKILL)
  time.sleep(0.5)  # dead, not yet waited for: a zombie
  try:
    write_lease(str(tmp_path), pid=zombie.pid)
    lease = WorkdirLease(str(tmp_path), timeout_secs=600)
    lease.acquire()
    lease.release()
  finally:
    zombie.wait()
