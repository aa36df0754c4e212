"""Loads ml_collections config files and applies `--config.KEY=VALUE` overrides.

Config files are plain Python: `get_config(arg=None) -> ConfigDict`. A file may be named with
an argument, `configs/NAME.py:ARG`. Overrides are parsed against the type of the existing field,
so a typo in a key or a value of the wrong type is an error naming the key, never a silent new
field.
"""

import ast
import difflib
import importlib.util
import os
from typing import Any

import ml_collections

from jaxvision.errors import UserError


def load_config_file(spec: str) -> ml_collections.ConfigDict:
  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    raise UserError(f"config file {path!r} not found; pass --config configs/NAME.py "
                    "(see the configs/ folder for the experiments)")
  module_spec = importlib.util.spec_from_file_location("jaxvision_user_config", path)
  module = importlib.util.module_from_spec(module_spec)
  try:
    module_spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
      raise UserError(f"config file {path!r} defines no get_config(arg=None) function")
    config = module.get_config(arg) if arg else module.get_config()
  except SyntaxError as e:  # the compiler's own position, like a compiler error
    raise UserError(f"{e.filename or path}:{e.lineno}: {e.msg} (config file syntax)"
                    ) from None
  except (UserError, KeyboardInterrupt):
    raise
  except Exception as e:  # a mistake in the file's code: name its line, not our stack
    raise UserError(f"{_line_in(path, e)}: {type(e).__name__}: {e}") from None
  return config


def _line_in(path: str, error: BaseException) -> str:
  """'FILE:LINE' of the deepest traceback frame inside the config file, else FILE."""
  where = path
  tb = error.__traceback__
  wanted = os.path.abspath(path)
  while tb is not None:
    if os.path.abspath(tb.tb_frame.f_code.co_filename) == wanted:
      where = f"{path}:{tb.tb_lineno}"
    tb = tb.tb_next
  return where


def flat_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  keys = []
  for key, value in config.items():
    name = f"{prefix}{key}"
    if isinstance(value, ml_collections.ConfigDict):
      keys.extend(flat_keys(value, name + "."))
    else:
      keys.append(name)
  return keys


def _parse_value(key: str, text: str, current: Any) -> Any:
  kind = type(current)
  try:
    if isinstance(current, bool):
      lowered = text.lower()
      if lowered in ("true", "1", "yes"):
        return True
      if lowered in ("false", "0", "no"):
        return False
      raise ValueError
    if isinstance(current, int):
      return int(text)
    if isinstance(current, float):
      return float(text)
    if isinstance(current, str):
      return text
    if isinstance(current, (tuple, list)):
      value = ast.literal_eval(text)
      if not isinstance(value, (tuple, list)):
        value = (value,)
      return kind(value)
  except (ValueError, SyntaxError):
    raise UserError(f"--config.{key}={text!r}: expected {kind.__name__} "
                    f"(the current value is {current!r})") from None
  # A field whose default is None (or another type) takes a Python literal, else the string.
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]) -> None:
  """Applies ['--config.a.b=1', ...] to `config` in place; unknown keys are errors."""
  valid = flat_keys(config)
  for item in overrides:
    if not item.startswith("--config.") or "=" not in item:
      raise UserError(f"unrecognised argument {item!r}; overrides look like "
                      "--config.KEY=VALUE, e.g. --config.batch_size=128")
    key, _, text = item[len("--config."):].partition("=")
    if key.startswith("model.") and key.count(".") == 1 and key not in valid:
      # Model settings are the model's keyword arguments, which differ per model: a new one
      # is allowed here, and a name the model does not take is refused when it is built.
      with config.model.unlocked():
        config.model[key[len("model."):]] = _parse_value(key, text, None)
      continue
    if key not in valid:
      close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
      hint = f" Did you mean {', '.join(close)}?" if close else ""
      raise UserError(f"unknown config key {key!r}.{hint} Valid keys: {', '.join(valid)}")
    *parents, leaf = key.split(".")
    node = config
    for part in parents:
      node = node[part]
    # Locking forbids new keys only; assigning an existing field stays allowed.
    node[leaf] = _parse_value(key, text, node[leaf])
