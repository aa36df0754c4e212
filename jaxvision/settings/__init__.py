"""Typed method settings: one frozen dataclass per method block of the config.

Pure Python (no jax, no TensorFlow), so the objective, its stream in jaxvision/data and its
round preparation read the same object. Each class holds its block's defaults (the one place
they live) and `from_config` refuses a key it does not know, so a typo in a config file or an
override is a one-line error before anything compiles.
"""

import dataclasses

from jaxvision.errors import UserError


def from_block(cls, config, block: str, *, not_in_block=()):
  """cls(**config[block]) with cls's defaults for what the block leaves out.

  not_in_block: fields the settings carry from elsewhere in the config (e.g. CLIP's
  context_length, a model setting), refused in the block.
  """
  given = config.get(block) or {}
  values = dict(given.items()) if hasattr(given, "items") else {}
  known = {f.name for f in dataclasses.fields(cls)} - set(not_in_block)
  unknown = sorted(set(values) - known)
  if unknown:
    raise UserError(f"unknown {block} setting(s) {', '.join(unknown)}; valid: "
                    f"{', '.join(sorted(known))}")
  return cls(**values)
