"""One writer per workdir: a lease file (or object) with the holder's host, pid and heartbeat.

Two trainers on one workdir (a job submitted twice, a retry while the first still runs) would
interleave checkpoints and logs: Orbax's temporary directories collide and the run is lost.
The first trainer creates WORKDIR/lease.json atomically (a generation precondition on object
storage, a hard link locally) and refreshes its heartbeat from a thread; a second one reads
it and refuses in one line naming the holder. A lease whose heartbeat is older than
`timeout_secs` belongs to a dead trainer (a preempted VM), and so does one whose process is
gone from this host (kill -9): either is taken over, with a
write conditional on the version that was read, so of two retries only one wins. On several
hosts process 0 holds it for the run and tells the others whether it got it.
"""

import json
import os
import socket
import sys
import threading
import time
import uuid

import jax
import numpy as np

from jaxvision import paths
from jaxvision.errors import UserError

LEASE_FILE = "lease.json"


def _dead_here(holder: dict) -> bool:
  """The holder ran on this host and its process is gone (kill -9, OOM): no need to wait for
  the timeout, so a restart on the same machine resumes at once."""
  if holder.get("host") != socket.gethostname():
    return False
  try:
    pid = int(holder["pid"])
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  except (OSError, KeyError, TypeError, ValueError):
    return False
  try:  # killed but not yet reaped by its parent: a zombie holds nothing
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] == "Z"
  except (OSError, IndexError):
    return False


class WorkdirLease:

  def __init__(self, workdir: str, timeout_secs: float):
    self.workdir = workdir
    self.path = paths.join(workdir, LEASE_FILE)
    self.timeout_secs = float(timeout_secs)
    self.token = uuid.uuid4().hex
    self.version = None
    self._stop = threading.Event()
    self._thread = None

  def _record(self) -> str:
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "token": self.token,
                       "heartbeat": time.time(), "timeout_secs": self.timeout_secs})

  def acquire(self) -> None:
    try:
      self.version = paths.create_exclusive(self.path, self._record())
    except paths.PreconditionFailed:
      self._take_over_if_stale()
    self._thread = threading.Thread(target=self._beat, daemon=True)
    self._thread.start()

  def _take_over_if_stale(self) -> None:
    text, version = paths.read_versioned(self.path)
    if text is None:  # released between our create and our read: try once more
      self.version = paths.create_exclusive(self.path, self._record())
      return
    try:
      holder = json.loads(text)
      age = time.time() - float(holder["heartbeat"])
    except (ValueError, KeyError, TypeError):
      holder, age = {"host": "?", "pid": "?"}, float("inf")  # unreadable: nobody renews it
    who = f"{holder.get('host')} pid {holder.get('pid')}"
    if age < self.timeout_secs and not _dead_here(holder):
      raise UserError(
          f"workdir {self.workdir} is in use by another trainer ({who}, heartbeat {age:.0f} s "
          f"ago, {self.path}); wait for it to end or stop it, or use another --workdir (a lease"
          f" without heartbeat for lease_timeout_secs={self.timeout_secs:g} s is taken over)")
    try:
      self.version = paths.replace_if(self.path, self._record(), version)
    except paths.PreconditionFailed:
      raise UserError(f"workdir {self.workdir}: another trainer took over the stale lease "
                      f"of {who} at the same moment; use another --workdir or stop it"
                      ) from None
    why = "is no longer running" if _dead_here(holder) else f"last beat {age:.0f} s ago"
    print(f"jaxvision: taking over the workdir lease of {who}, which {why}",
          file=sys.stderr, flush=True)

  def _beat(self) -> None:
    failures = 0
    while not self._stop.wait(self.timeout_secs / 4):
      try:
        self.version = paths.replace_if(self.path, self._record(), self.version)
        failures = 0
      except paths.PreconditionFailed:
        # Someone took over because our heartbeat stalled past the timeout: two writers
        # now, so this one stops before it writes another checkpoint.
        print(f"jaxvision: error: lost the workdir lease {self.path} to another trainer "
              f"(no heartbeat for {self.timeout_secs:g} s); stopping this one",
              file=sys.stderr, flush=True)
        os._exit(2)
      except OSError as e:  # a storage hiccup: the next beat tries again
        failures += 1
        if failures == 2:  # said once, when the lease is half way to going stale
          print(f"jaxvision: warning: could not renew the workdir lease: {e}",
                file=sys.stderr, flush=True)

  def release(self) -> None:
    if self._thread is None:
      return
    self._stop.set()
    self._thread.join()
    self._thread = None
    text, _ = paths.read_versioned(self.path)
    if text is not None and json.loads(text).get("token") == self.token:
      paths.remove(self.path)


def hold_workdir(workdir: str, timeout_secs: float) -> WorkdirLease | None:
  """Process 0 takes the lease; every process raises the same UserError if it could not."""
  lease, error = None, ""
  if jax.process_index() == 0:
    lease = WorkdirLease(workdir, timeout_secs)
    try:
      lease.acquire()
    except UserError as e:
      error = str(e)
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    failed = multihost_utils.broadcast_one_to_all(np.int32(bool(error)))
    if int(failed) and not error:
      raise UserError(f"workdir {workdir} is in use by another trainer (process 0 says why)")
  if error:
    raise UserError(error)
  return lease
