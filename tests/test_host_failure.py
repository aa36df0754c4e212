"""Two processes on loopback: when one dies, the other exits with a clear error, no hang."""

import os
import signal
import socket
import subprocess
import sys
import time


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_survivor_exits_within_host_timeout(tmp_path):
  port, workdir = free_port(), str(tmp_path / "w")
  env = dict(os.environ, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")
  procs = []
  for pid in range(2):
    cmd = [sys.executable, "-m", "jaxvision.cli", "train", "--config",
           "configs/lenet5_digits.py", "--workdir", workdir, "--cpu-devices", "4",
           f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
           f"--process_id={pid}", "--config.num_train_steps=1000000",
           "--config.log_every_steps=5", "--config.host_timeout_secs=10"]
    procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True))
  try:
    metrics = os.path.join(workdir, "metrics.jsonl")
    deadline = time.time() + 240
    while not (os.path.exists(metrics) and os.path.getsize(metrics)) and time.time() < deadline:
      assert all(p.poll() is None for p in procs), procs[0].stderr.read()
      time.sleep(0.2)
    procs[1].send_signal(signal.SIGKILL)
    killed_at = time.time()
    _, err = procs[0].communicate(timeout=120)
    waited = time.time() - killed_at
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  assert procs[0].returncode != 0
  # Where the kill lands decides the path: a collective in flight fails at once (gloo:
  # connection reset), one entered later hangs until our watchdog fires at host_timeout_secs,
  # before JAX's heartbeat backstop (30 s later). Both end in the same single line.
  assert ("jaxvision: error: no progress for" in err
          or "jaxvision: error: a collective failed after step" in err), err[-2000:]
  assert "another host probably died" in err and "restart all hosts" in err
  assert "Traceback" not in err and "Check failure" not in err, err[-2000:]
  assert waited < 10 + 15
