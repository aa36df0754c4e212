"""Real jax.distributed processes on loopback: 2 x 4 and 4 x 2 CPU devices against 1 x 8.

(a) The 2x4 run logs the losses of a real 1x8 run of the same config (the global order does
not depend on the number of hosts); (c) its checkpoint resumes on 4x2, and that one's on 1x8,
each with the next losses of the uninterrupted 1x8 run. The decode counter (b) is in
tests/test_host_reads.py.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np

STEPS = 12
OVERRIDES = ["--config.batch_size=32", "--config.log_every_steps=1",
             "--config.eval_every_steps=1000", "--config.checkpoint_every_steps=6",
             # Plain SGD: Adam would amplify the all-reduce's rounding (see test_parallel).
             "--config.optimizer=sgd", "--config.learning_rate=0.05",
             # Constant: a 6-step run then follows the 12-step schedule of the reference.
             "--config.schedule=constant"]


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def train_command(workdir, steps, *extra, config="configs/lenet5_digits.py"):
  return [sys.executable, "-m", "jaxvision.cli", "train", "--config", config,
          "--workdir", str(workdir), f"--config.num_train_steps={steps}", *extra]


def env():
  return dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")


def run_processes(command_of, count, *, wrap=lambda pid, cmd: cmd, timeout=300):
  """Starts `count` processes of `command_of(extra_args)` on loopback and waits for all."""
  port = free_port()
  procs = [subprocess.Popen(
      wrap(pid, command_of("--cpu-devices", str(8 // count),
                           f"--coordinator_address=127.0.0.1:{port}",
                           f"--num_processes={count}", f"--process_id={pid}",
                           "--config.host_timeout_secs=60")),
      env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for pid in range(count)]
  try:
    outputs = [p.communicate(timeout=timeout) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, (_, err) in zip(procs, outputs):
    assert p.returncode == 0, err[-3000:]
  return outputs


def run_one_process(command):
  proc = subprocess.run([*command, "--cpu-devices", "8"], env=env(), capture_output=True,
                        text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc.stdout


def train_losses(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  return {r["step"]: r["loss"] for r in records if r["split"] == "train"}


def test_two_by_four_and_four_by_two_log_the_one_by_eight_losses_across_resumes(tmp_path):
  single, multi = tmp_path / "1x8", tmp_path / "2x4"
  run_one_process(train_command(single, STEPS, *OVERRIDES))
  reference = train_losses(single)
  assert sorted(reference) == list(range(1, STEPS + 1))
  assert abs(reference[STEPS] - reference[1]) > 1e-3  # training moved the loss

  half = STEPS // 2
  run_processes(lambda *extra: train_command(multi, half, *OVERRIDES, *extra), 2)
  logged = train_losses(multi)
  assert sorted(logged) == list(range(1, half + 1))
  np.testing.assert_allclose([logged[s] for s in range(1, half + 1)],
                             [reference[s] for s in range(1, half + 1)], rtol=1e-5)

  # The 2x4 checkpoint of step 6 resumes on 4x2 (to step 9), and that one's on 1x8 (to 12):
  # each topology goes on as the uninterrupted 1x8 run.
  three_quarters = 3 * STEPS // 4
  outputs = run_processes(
      lambda *extra: train_command(multi, three_quarters, *OVERRIDES, *extra), 4)
  assert f"resuming at step {half}" in outputs[0][0]
  out = run_one_process(train_command(multi, STEPS, *OVERRIDES))
  assert f"resuming at step {three_quarters}" in out
  resumed = train_losses(multi)
  assert sorted(resumed) == list(range(1, STEPS + 1))
  np.testing.assert_allclose([resumed[s] for s in range(half + 1, STEPS + 1)],
                             [reference[s] for s in range(half + 1, STEPS + 1)], rtol=1e-5)
