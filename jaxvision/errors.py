"""Exceptions that end a run with a one-line message instead of a traceback.

The CLI prints a `UserError` as `jaxvision: error: ...` and exits with status 2; a `Stopped`
as `jaxvision: ...` with its own exit status. Any other exception is a bug in jaxvision and
keeps its traceback.
"""


class UserError(Exception):
  """Bad input from the user: a missing dataset, an unknown key, a wrong workdir."""


class Stopped(Exception):
  """The run stopped on purpose (preemption signal) after saving a checkpoint."""

  def __init__(self, message: str, exit_code: int):
    super().__init__(message)
    self.exit_code = exit_code
