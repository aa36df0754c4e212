"""Model summaries for the `jaxvision models` command: parameters and forward-pass GFLOPs.

Nothing is allocated or run: parameters come from `jax.eval_shape(model.init, ...)` and
FLOPs from XLA's cost analysis of the compiled eval-mode forward pass (batch 1, the model's
default input). XLA counts a multiply-add as 2 FLOPs and includes elementwise work (norms,
activations), so ResNet-50 reads about 8.0, not the "4.1 GFLOPs" (multiply-adds) of papers.
Imports only jax and flax, never TensorFlow.
"""

from typing import Any, Iterable, Optional

import jax
import jax.numpy as jnp

from jaxvision.models import CLASSIFIERS, MODELS, get_model
from jaxvision.models.layers import num_params


def _flops(cost: Any) -> float:
  """`cost_analysis()` is a dict in recent jax, a list of per-module dicts in older ones."""
  if cost is None:
    return float("nan")
  if isinstance(cost, dict):
    cost = [cost]
  return float(sum(c.get("flops", 0.0) for c in cost if c))


def describe_model(name: str) -> dict:
  """{name, params, gflops, input_shape, description} of one registered model.

  Built with its registry defaults (1000 classes for ImageNet models, the model's own
  default for CIFAR and small ones); auxiliary heads are excluded from both numbers.
  """
  spec = MODELS[name]
  model = get_model(name)
  if hasattr(model, "aux_logits"):
    model = model.clone(aux_logits=False)
  x = jax.ShapeDtypeStruct((1,) + tuple(spec.input_shape), jnp.float32)
  variables = jax.eval_shape(lambda x: model.init(jax.random.key(0), x), x)
  forward = jax.jit(lambda v, x: model.apply(v, x, train=False))
  compiled = forward.lower(variables, x).compile()
  return {
      "name": name,
      "params": num_params(variables["params"]),
      "gflops": _flops(compiled.cost_analysis()) / 1e9,
      "input_shape": tuple(spec.input_shape),
      "description": spec.description,
  }


def describe_models(names: Optional[Iterable[str]] = None) -> list[dict]:
  """Summaries of `names` (default: every image classifier, sorted); KeyError if unknown."""
  names = sorted(CLASSIFIERS) if names is None else list(names)
  for name in names:
    if name not in MODELS:
      get_model(name)  # Raises the registry's KeyError listing valid names.
  return [describe_model(name) for name in names]
