"""Multi-host hang detection: a host that stops making progress exits with a clear message.

When one host dies, the others block inside a collective that never completes. JAX's own
heartbeat ends them eventually, with a C++ stack trace; this watchdog fires first (the
heartbeat is set `HEARTBEAT_MARGIN_SECS` later, see parallel/distributed.py) and says in one
line what happened and where the last checkpoint is. It is armed by the first completed
step: compiling that step can take longer than any sensible timeout on a loaded machine or
for a large model (a host lost before then is left to JAX's heartbeat).

A host that dies while the others are inside a collective does not leave them hanging: their
collective raises at once (gloo: "Connection reset by peer"). The loop hands that error to
`collective_failed`, which says the same line and exits at once; letting it propagate would
print a traceback and then wait in JAX's shutdown barrier for the dead host until the
heartbeat aborts the process with a C++ stack trace.
"""

import os
import sys
import threading
import time

HEARTBEAT_MARGIN_SECS = 30


class ProgressWatchdog:

  def __init__(self, timeout_secs: float, describe_checkpoint):
    self.timeout_secs = timeout_secs
    self.describe_checkpoint = describe_checkpoint
    self.last_progress = time.monotonic()
    self.step = None
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._watch, daemon=True)
    self._thread.start()

  def kick(self, step: int) -> None:
    self.step = step
    self.last_progress = time.monotonic()

  def _watch(self):
    while not self._stop.wait(1.0):
      if self.step is None:  # not armed before the first step (compilation)
        continue
      idle = time.monotonic() - self.last_progress
      if idle > self.timeout_secs:
        self._exit(f"no progress for {idle:.0f} s after step {self.step} (host_timeout_secs "
                   "sets this limit)")

  def collective_failed(self, error: BaseException):
    """Exits with one line for an error raised by a step, an evaluation or a save."""
    lines = str(error).strip().splitlines()
    reason = lines[0][:300] if lines else type(error).__name__
    self._exit(f"a collective failed after step {self.step} ({reason})")

  def _exit(self, what: str):
    sys.stdout.flush()
    print(f"jaxvision: error: {what}: another host probably died or hangs; "
          f"{self.describe_checkpoint()}; restart all hosts with the same command to resume",
          file=sys.stderr, flush=True)
    os._exit(3)  # not sys.exit: JAX's shutdown barrier would wait for the lost host

  def close(self):
    self._stop.set()
