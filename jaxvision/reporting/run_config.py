"""The config a finished run was trained with: WORKDIR/config.json (written at every start)."""

import json

import ml_collections

from jaxvision import paths
from jaxvision.errors import UserError


def load_run_config(workdir: str) -> ml_collections.ConfigDict:
  path = paths.join(workdir, "config.json")
  if not paths.exists(path):
    raise UserError(f"no config.json in {workdir}; report needs a workdir that "
                    "'jaxvision train' wrote")
  return ml_collections.ConfigDict(json.loads(paths.read_text(path)))
