"""Start-up without flags on each cluster, through JAX's own cluster detection.

Each platform is given the environment it really presents: SLURM its SLURM_* variables (two
real processes train together on loopback), GKE TPU pods TPU_WORKER_HOSTNAMES/TPU_WORKER_ID,
and Cloud TPU VMs a metadata service, served here on loopback (JAX reads GCE_METADATA_IP).
JAX decides "this is a TPU VM" from the TPU chips it finds at import; there are none here, so
that one flag of JAX's is set by the TPU tests (monkeypatch), and everything after it --
metadata queries, worker list, process ids -- is JAX's real code.
"""

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from jaxvision.parallel import distributed

CLUSTER_VARS = ("SLURM_", "TPU_", "OMPI_", "KUBERNETES_", "MEGASCALE_", "GCE_METADATA",
                "JAX_COORDINATOR")


@pytest.fixture
def bare_env(monkeypatch):
  for key in list(os.environ):
    if key.startswith(CLUSTER_VARS):
      monkeypatch.delenv(key)
  return monkeypatch


@pytest.fixture
def metadata_server():
  """A GCE metadata service on loopback; the test fills `attributes`."""
  attributes = {}

  class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
      key = self.path.rsplit("/", 1)[-1]
      ok = (self.headers.get("Metadata-Flavor") == "Google" and key in attributes)
      body = attributes.get(key, "not found").encode()
      self.send_response(200 if ok else 404)
      self.send_header("Content-Length", str(len(body)))
      self.end_headers()
      self.wfile.write(body)

    def log_message(self, *args):
      pass

  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"127.0.0.1:{server.server_address[1]}", attributes
  finally:
    server.shutdown()
    server.server_close()


def on_tpu_vm(monkeypatch):
  from jax._src.clusters import cloud_tpu_cluster
  monkeypatch.setattr(cloud_tpu_cluster, "running_in_cloud_tpu_vm", True)


def test_laptop_detects_no_cluster_and_starts_nothing(bare_env):
  assert distributed.detect_cluster() is None
  assert distributed.initialize() is None


def test_cloud_tpu_vm_pod_found_through_the_metadata_service(bare_env, metadata_server):
  address, attributes = metadata_server
  attributes.update({"agent-worker-number": "1",
                     "worker-network-endpoints": "127.0.0.1,127.0.0.1,127.0.0.1,127.0.0.1",
                     "tpu-env": "ACCELERATOR_TYPE: 'v4-32'\nTYPE: 'V4'"})
  bare_env.setenv("GCE_METADATA_IP", address)
  on_tpu_vm(bare_env)
  env = distributed.detect_cluster()
  assert env is not None and env.name == "gcetpu"
  assert distributed.describe_cluster(env) == {"cluster": "gcetpu", "num_processes": 4,
                                               "process_id": 1}
  assert env.get_coordinator_address(5, None) == "127.0.0.1:8482"


def test_single_host_tpu_vm_starts_nothing(bare_env, metadata_server):
  address, attributes = metadata_server
  attributes.update({"agent-worker-number": "0", "worker-network-endpoints": "127.0.0.1",
                     "tpu-env": "ACCELERATOR_TYPE: 'v5litepod-8'"})
  bare_env.setenv("GCE_METADATA_IP", address)
  on_tpu_vm(bare_env)
  assert distributed.detect_cluster().name == "gcetpu"
  assert distributed.initialize() is None  # one process: no coordinator to start


def test_gke_tpu_pod_found_through_its_variables(bare_env, metadata_server):
  address, attributes = metadata_server
  attributes["tpu-env"] = "ACCELERATOR_TYPE: 'v5litepod-16'"  # the node's; slices read there
  bare_env.setenv("GCE_METADATA_IP", address)
  bare_env.setenv("TPU_WORKER_HOSTNAMES", "127.0.0.1,127.0.0.1")
  bare_env.setenv("TPU_WORKER_ID", "1")
  on_tpu_vm(bare_env)
  env = distributed.detect_cluster()
  assert env.name == "gketpu"
  assert distributed.describe_cluster(env) == {"cluster": "gketpu", "num_processes": 2,
                                               "process_id": 1}


def test_a_non_tpu_host_ignores_tpu_variables(bare_env):
  bare_env.setenv("TPU_WORKER_HOSTNAMES", "a,b")  # GKE's variable on a CPU host: not a pod
  assert distributed.detect_cluster() is None


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_slurm_job_step_of_two_tasks_trains_without_flags(tmp_path):
  """What `srun` sets for each task of a 2-task step on one node; no --coordinator flags."""
  base = {k: v for k, v in os.environ.items() if not k.startswith(CLUSTER_VARS)}
  base.update(PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu", SLURM_JOB_ID="4242",
              SLURM_STEP_NODELIST="localhost", SLURM_STEP_NUM_NODES="1", SLURM_NTASKS="2",
              JAX_COORDINATOR_PORT=str(free_port()))  # JAX's override of its port rule
  cmd = [sys.executable, "-m", "jaxvision.cli", "train", "--config",
         "configs/lenet5_digits.py", "--workdir", str(tmp_path / "w"), "--cpu-devices", "4",
         "--config.num_train_steps=4", "--config.batch_size=32", "--config.log_every_steps=2",
         "--config.eval_every_steps=1000", "--config.host_timeout_secs=120"]
  procs = [subprocess.Popen(cmd, env=dict(base, SLURM_PROCID=str(i), SLURM_LOCALID=str(i)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  try:
    outs = [p.communicate(timeout=400) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  assert "slurm cluster detected: 2 processes" in outs[0][1]
  assert "8 device(s)" in outs[0][0]  # 2 processes x 4 devices form one mesh

