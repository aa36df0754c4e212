"""SIGTERM/SIGINT: finish the step in flight, checkpoint, exit within a grace period.

Preemptible machines (cloud TPUs and GPUs, SLURM jobs) get SIGTERM some seconds before they
are taken. The handler only sets a flag; the loop checks it after each step, saves, and stops.
A watchdog ends the process if that has not happened within `grace_secs`, so a save that hangs
cannot outlive the machine. On several hosts the flag is agreed with an all-gather at each
log interval (not each step: that was a host synchronisation per step), so every host stops
after the same step and takes part in the same save.
"""

import os
import signal
import sys
import threading

import jax
import numpy as np

SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


class PreemptionWatcher:

  def __init__(self, grace_secs: float):
    self.grace_secs = grace_secs
    self.received: int | None = None
    self.saved = False  # the loop has written its checkpoint after the signal
    self._previous = {}
    if threading.current_thread() is threading.main_thread():
      for sig in SIGNAL_NAMES:
        self._previous[sig] = signal.signal(sig, self._handle)

  def _handle(self, signum, frame):
    del frame
    if self.received is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C: stop now, without saving
    self.received = signum
    timer = threading.Timer(self.grace_secs, self._give_up)
    timer.daemon = True
    timer.start()

  def checkpoint_saved(self):
    """Called once the stop checkpoint is committed: from here on the watchdog only has to
    end a slow shutdown (TF and XLA teardown on a loaded machine can take tens of seconds),
    and says so instead of claiming the save did not happen."""
    self.saved = True

  def _give_up(self):
    if self.saved:
      message = (f"jaxvision: the checkpoint is saved, but shutting down took longer than "
                 f"preemption_grace_secs={self.grace_secs}; exiting now")
    else:
      message = (f"jaxvision: error: no checkpoint within preemption_grace_secs="
                 f"{self.grace_secs} after the signal; exiting. The previous checkpoint is "
                 "intact.")
    print(message, file=sys.stderr, flush=True)
    os._exit(128 + (self.received or signal.SIGTERM))

  def should_stop(self, step: int | None = None, every: int = 1) -> bool:
    """True when this run should save and stop after `step`.

    On several hosts the hosts must agree (a signal reaches them at different steps), and
    agreeing is a host synchronisation: it is done only every `every` steps (the log
    interval, where metrics already reach the host), not after each step. A signal waits at
    most one interval; preemption_grace_secs must cover that interval plus a save.
    """
    local = self.received is not None
    if jax.process_count() == 1:
      return local
    if step is not None and step % every:
      return False
    from jax.experimental import multihost_utils
    return bool(np.any(multihost_utils.process_allgather(np.int32(local))))

  @property
  def signal_name(self) -> str:
    return SIGNAL_NAMES.get(self.received, "a signal from another host")

  def close(self):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
