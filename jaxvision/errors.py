"""The one exception type for user mistakes.

The CLI prints a `UserError` as a single line (what is wrong and how to fix it) and exits with
status 2; any other exception is a bug in jaxvision and keeps its traceback.
"""


class UserError(Exception):
  """Bad input from the user: a missing dataset, an unknown key, a wrong workdir."""
