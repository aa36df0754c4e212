"""Importing a library without one of the optional modules it loads eagerly (start-up time)."""

import contextlib
import sys


@contextlib.contextmanager
def module_hidden(name: str):
  """Within the block `import name` raises ImportError (the module is marked missing in
  sys.modules), unless it is loaded already; afterwards it imports as usual."""
  hide = name not in sys.modules
  if hide:
    sys.modules[name] = None
  try:
    yield
  finally:
    if hide:
      del sys.modules[name]
