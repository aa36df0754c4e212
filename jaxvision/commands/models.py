"""`jaxvision models [--json]`: the models with parameters and forward-pass GFLOPs.

Nothing is allocated or run: parameters come from `jax.eval_shape(model.init, ...)` and
FLOPs from XLA's cost analysis of the compiled eval-mode forward pass (batch 1, the model's
default input). XLA counts a multiply-add as 2 FLOPs and includes elementwise work (norms,
activations), so ResNet-50 reads about 8.0, not the "4.1 GFLOPs" (multiply-adds) of papers.
Imports only jax and flax, never TensorFlow (and those only when it runs).
"""

import json
from typing import Iterable, Optional

from jaxvision.commands.cost import cost_flops

HELP = "list the models with parameters and GFLOPs"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("models", help=HELP)
  p.add_argument("--json", action="store_true", help="print a JSON list")


def describe_model(name: str) -> dict:
  """{name, params, gflops, input_shape, description} of one registered model.

  Built with its registry defaults (1000 classes for ImageNet models, the model's own
  default for CIFAR and small ones); auxiliary heads are excluded from both numbers.
  """
  import jax
  import jax.numpy as jnp

  from jaxvision.models import MODELS, get_model
  from jaxvision.models.layers import num_params

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
      "gflops": cost_flops(compiled.cost_analysis(), missing=float("nan")) / 1e9,
      "input_shape": tuple(spec.input_shape),
      "description": spec.description,
  }


def describe_models(names: Optional[Iterable[str]] = None) -> list[dict]:
  """Summaries of `names` (default: every image classifier, sorted); KeyError if unknown."""
  from jaxvision.models import CLASSIFIERS, MODELS, get_model

  names = sorted(CLASSIFIERS) if names is None else list(names)
  for name in names:
    if name not in MODELS:
      get_model(name)  # Raises the registry's KeyError listing valid names.
  return [describe_model(name) for name in names]


def run(args, rest) -> int:
  rows = describe_models()
  if args.json:
    print(json.dumps(rows, indent=1))
    return 0
  for row in rows:
    print(f"{row['name']:<16}{row['params']:>13,}  {row['gflops']:>9.3f}  "
          f"{tuple(row['input_shape'])}")
  return 0
