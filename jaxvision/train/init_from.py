"""Starting a run from other weights: `--config.init_from=DIR` and evaluating imports.

DIR is an import-weights folder, a training workdir of the same model (fine-tuning, e.g. on
another class count: the classifier head is re-initialised), or the workdir of a method
whose model keeps its backbone as the submodule 'encoder' (self-supervised pre-training):
then the encoder's weights initialise the classifier and its head starts fresh. Every leaf
except the head must be found with its shape: a silent partial load is refused.
"""

import jax
import numpy as np

from jaxvision.errors import UserError
from jaxvision.parallel import replicated_sharding

ENCODER = "encoder"


def _select_encoder(pretrained: dict, source_model: str, target_model: str) -> dict:
  """A method model's 'encoder' subtree, when the target is not that method model itself."""
  params = pretrained["params"]
  if source_model != target_model and ENCODER in params:
    return {name: tree[ENCODER] for name, tree in pretrained.items() if ENCODER in tree}
  return pretrained


def initialise_from(exp, state, init_dir: str, *, exact: bool = False):
  """`state` with its params and model state taken from INIT_DIR (optimizer state fresh).

  exact=True (evaluating an import folder): the class count must match; nothing is
  re-initialised.
  """
  from jaxvision.weights.export import head_modules, load_pretrained, merge_pretrained

  source_model, num_classes, pretrained = load_pretrained(init_dir)
  target = exp.config.model.name
  if exact and (source_model != target or num_classes != exp.model.num_classes):
    raise UserError(f"{init_dir} holds {source_model} weights with {num_classes} classes but "
                    f"the config builds {target} with {exp.model.num_classes}; use "
                    f"--config.model.name={source_model} and a config for its dataset")
  pretrained = _select_encoder(pretrained, source_model, target)
  fresh = {"params": state.params, **state.model_state}
  fresh = jax.tree.map(np.asarray, jax.device_get(fresh))
  merged, kept = merge_pretrained(fresh, pretrained, target)
  heads = tuple(head_modules(target))
  not_head = [k for k in kept if not any(k.split("/", 1)[-1].startswith(h) for h in heads)]
  if not_head:
    raise UserError(f"{init_dir} ({source_model}) lacks weights for {len(not_head)} "
                    f"layer(s) of {target}, e.g. {', '.join(not_head[:4])}; init_from needs "
                    "the same architecture (only the classifier head may differ)")
  if exact and kept:
    raise UserError(f"{init_dir} lacks the head {', '.join(kept[:4])} of {target}")
  if kept and jax.process_index() == 0:
    print(f"init_from {init_dir}: {source_model} weights loaded; re-initialised "
          f"{', '.join(sorted({k.split('/')[1] for k in kept}))}", flush=True)
  merged = jax.device_put(merged, replicated_sharding(exp.mesh))
  params = merged.pop("params")
  params = jax.tree.map(lambda new, old: new.astype(old.dtype), params, state.params)
  ema = jax.tree.map(lambda p: p.copy(), params) if state.ema_params is not None else None
  return state.replace(params=params, model_state=merged, ema_params=ema)
