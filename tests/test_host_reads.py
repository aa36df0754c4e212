"""Each host opens only its own examples, once; a resumed run opens only what is left to do.

Counted from outside the code under test: `strace -e trace=openat` on two real
jax.distributed processes (2 x 4 CPU devices, loopback) training LeNet on an image folder of
JPEGs. The files a host must read are its rows of the global order (order.step_indices,
tested against numpy in test_order.py); read-ahead is bounded by the prefetch depth.
"""

import os
import re
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from test_multihost import run_processes, train_command  # noqa: E402

from jaxvision.data import order, pipeline, sources  # noqa: E402

FILES, HOSTS, LOCAL = 400, 2, 8
GLOBAL = LOCAL * HOSTS
# Read-ahead allowance in steps: the prefetched batches plus the batch being assembled and
# the parallel map's elements in flight.
AHEAD = pipeline.PREFETCH_BATCHES + 3
OVERRIDES = ["--config.data.name=folder", "--config.data.channels=1",
             f"--config.batch_size={GLOBAL}", "--config.eval_batch_size=8",
             "--config.log_every_steps=1", "--config.eval_every_steps=1000",
             "--config.checkpoint_every_steps=12", "--config.schedule=constant"]

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


def write_folder(root):
  rng = np.random.default_rng(0)
  for split, count in (("train", FILES), ("test", 8)):
    for i in range(count):
      folder = root / split / f"c{i % 4}"
      folder.mkdir(parents=True, exist_ok=True)
      pixels = rng.integers(0, 256, (24, 20), dtype=np.uint8)
      Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=90)


def opened_train_files(log):
  opens = []
  with open(log) as f:
    for line in f:
      match = re.search(r'openat\([^"]*"([^"]+/train/[^"]+\.jpg)"', line)
      if match and "ENOENT" not in line:
        opens.append(match.group(1))
  return opens


def run_traced(tmp_path, workdir, steps, tag):
  logs = [tmp_path / f"{tag}{pid}.strace" for pid in range(HOSTS)]

  def wrap(pid, cmd):
    # --seccomp-bpf: only openat stops the tracee; every other syscall runs at full speed.
    return ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=openat", "-o", str(logs[pid]),
            *cmd]

  run_processes(lambda *extra: train_command(
      workdir, steps, *OVERRIDES, f"--config.data.dir={tmp_path / 'images'}", *extra),
      HOSTS, wrap=wrap)
  return [opened_train_files(log) for log in logs]


def host_files(names, host, first_step, stop_step):
  return {names(i) for s in range(first_step, stop_step)
          for i in order.step_indices(s, num_examples=FILES, seed=0, global_batch=GLOBAL,
                                      process_index=host, process_count=HOSTS)}


def test_each_host_opens_its_share_once_and_a_late_resume_opens_only_the_rest(tmp_path):
  write_folder(tmp_path / "images")
  reader = sources.load_image_folder_source(str(tmp_path / "images"), channels=1).reader(
      "train")
  workdir = tmp_path / "w"
  steps, more = 12, 2
  for host, opens in enumerate(run_traced(tmp_path, workdir, steps, "first")):
    assert len(opens) == len(set(opens)), "a file was opened twice"
    needed = host_files(reader.name, host, 0, steps)
    assert needed <= set(opens)
    assert set(opens) <= host_files(reader.name, host, 0, steps + AHEAD)
    assert len(opens) <= (steps + AHEAD) * LOCAL < FILES // HOSTS + 1

  for host, opens in enumerate(run_traced(tmp_path, workdir, steps + more, "resumed")):
    assert host_files(reader.name, host, steps, steps + more) <= set(opens)
    # nothing of the 12 steps before the checkpoint is read again
    assert set(opens) <= host_files(reader.name, host, steps, steps + more + AHEAD)
    assert len(opens) <= (more + AHEAD) * LOCAL
