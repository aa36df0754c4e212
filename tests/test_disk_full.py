"""A real filesystem fills up while checkpointing: one line naming the workdir and the last good
checkpoint, that checkpoint restores, and after space is freed the same command resumes.

The filesystem is a small tmpfs (mounting needs root, as on CI; skipped otherwise). Once the
first checkpoint is committed a ballast file takes the rest of the space, whatever the size of
a checkpoint, so a later save (or a log write) meets a genuinely full disk.
"""

import os
import subprocess
import sys
import time

import pytest

ARGS = ["--config", "configs/lenet5_digits.py", "--config.num_train_steps=400",
        "--config.checkpoint_every_steps=10", "--config.log_every_steps=10",
        "--config.eval_every_steps=100000", "--config.keep_checkpoints=100",
        "--config.batch_size=32"]


@pytest.fixture
def small_disk(tmp_path):
  mount = tmp_path / "disk"
  mount.mkdir()
  made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                        capture_output=True)
  if made.returncode:
    pytest.skip("cannot mount a tmpfs here (needs root)")
  try:
    yield mount
  finally:
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder):
  """Writes a ballast file until the filesystem refuses (ENOSPC)."""
  # The open, a write or the final flush at close may each be the one refused.
  try:
    with open(folder / "ballast", "wb") as f:
      while True:
        f.write(b"\0" * 65536)
        f.flush()
  except OSError:
    pass


def committed(workdir):
  root = workdir / "checkpoints"
  return sorted(int(d) for d in os.listdir(root) if d.isdigit()) if root.is_dir() else []


def test_disk_full_while_checkpointing(small_disk):
  env = dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")
  workdir = small_disk / "w"
  cmd = [sys.executable, "-m", "jaxvision.cli", "train", "--workdir", str(workdir), *ARGS]
  proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  deadline = time.time() + 900  # a loaded 2-core machine
  while not committed(workdir) and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)
  fill(small_disk)
  out, err = proc.communicate(timeout=600)
  assert proc.returncode == 2, err[-3000:]
  assert err.count("\n") == 1 and "Traceback" not in err, err[-3000:]
  assert "No space left on device" in err and f"workdir {workdir}" in err, err
  good = int(err.split("the last good checkpoint (")[1].split(")")[0])
  assert good in committed(workdir) and good < 400

  # The last good checkpoint restores while the disk is still full (eval writes nothing).
  ev = subprocess.run([sys.executable, "-m", "jaxvision.cli", "eval", "--workdir",
                       str(workdir), *ARGS], env=env, capture_output=True, text=True,
                      timeout=300)
  assert ev.returncode == 0 and f"step {good}" in ev.stdout, ev.stderr[-3000:]

  os.remove(small_disk / "ballast")
  again = subprocess.run(cmd[:-len(ARGS)] + ARGS[:2] + ["--config.num_train_steps=" +
                                                          str(good + 10)] + ARGS[3:],
                         env=env, capture_output=True, text=True, timeout=300)
  assert again.returncode == 0, again.stderr[-3000:]
  assert f"resuming at step {good}" in again.stdout, again.stdout
