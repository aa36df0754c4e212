"""Top-1/top-5 accuracy and loss over a whole split, padding masked out.

Per-batch sums stay on the device until the split is done: one transfer per evaluation.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision import losses
from jaxvision.parallel import batch_sharding, global_batch, replicated_sharding


def eval_sums(logits, labels, mask):
  mask = mask.astype(jnp.float32)
  return {
      "loss": jnp.sum(losses.per_example_cross_entropy(logits, labels) * mask),
      "accuracy": jnp.sum(losses.topk_correct(logits, labels, k=1) * mask),
      "top5_accuracy": jnp.sum(losses.topk_correct(logits, labels, k=5) * mask),
      "count": jnp.sum(mask),
  }


def make_eval_step(predict_fn, mesh):
  """predict_fn(variables, images) -> logits; returns a jitted (variables, batch) -> sums."""

  def step(variables, batch):
    logits = predict_fn(variables, batch["image"])
    return eval_sums(logits, batch["label"], batch["mask"])

  return jax.jit(step, in_shardings=(replicated_sharding(mesh), batch_sharding(mesh)),
                 out_shardings=replicated_sharding(mesh))


def evaluate(eval_step, variables, batches, mesh) -> dict[str, float]:
  """Mean loss, top-1 and top-5 accuracy over every unmasked example of `batches`."""
  totals = None
  for local in batches:
    sums = eval_step(variables, global_batch(local, mesh))
    totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
  if totals is None:
    raise ValueError("evaluation got no batches")
  totals = jax.tree.map(lambda x: float(np.asarray(x)), totals)
  count = totals.pop("count")
  return {name: value / count for name, value in totals.items()} | {"num_examples": int(count)}
