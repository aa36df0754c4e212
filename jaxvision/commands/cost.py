"""FLOPs from XLA's cost analysis, for `jaxvision models` and `jaxvision bench`."""


def cost_flops(cost, missing: float = 0.0) -> float:
  """Total FLOPs of a `cost_analysis()` result, or `missing` when the backend gave none.

  `cost_analysis()` is a dict in recent jax, a list of per-module dicts in older ones.
  """
  if not cost:
    return missing
  if isinstance(cost, dict):
    cost = [cost]
  return float(sum(c.get("flops", 0.0) for c in cost if c))
