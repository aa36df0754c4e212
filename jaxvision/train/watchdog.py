"""Multi-host hang detection: a host that stops making progress exits with a clear message.

When one host dies, the others block inside a collective that never completes. JAX's own
heartbeat ends them eventually, with a C++ stack trace; this watchdog fires first (the
heartbeat is set `HEARTBEAT_MARGIN_SECS` later, see parallel/distributed.py) and says in one
line what happened and where the last checkpoint is. It is armed by the first completed
step: compiling that step can take longer than any sensible timeout on a loaded machine or
for a large model (a host lost before then is left to JAX's heartbeat).
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
        print(f"jaxvision: error: no progress for {idle:.0f} s after step {self.step}: another "
              f"host probably died or hangs; {self.describe_checkpoint()}; restart all hosts "
              "with the same command to resume (host_timeout_secs sets this limit)",
              file=sys.stderr, flush=True)
        os._exit(3)

  def close(self):
    self._stop.set()
