"""Dynamic loss scaling for float16 training (Micikevicius et al. 2018, "Mixed Precision
Training", sec. 3.2), as torch.cuda.amp.GradScaler and NVIDIA Apex do it.

float16 gradients underflow to zero below 6e-8; multiplying the loss by S shifts them into
range, and the gradients are divided by S again in float32 before the optimizer sees them.
A step whose gradients are not finite (S too large: overflow) is skipped and S halves; after
`growth_interval` finite steps in a row S doubles. bfloat16 has float32's exponent range
and needs none of this.
"""

import jax.numpy as jnp

INITIAL_SCALE = 2.0 ** 15   # GradScaler's default init_scale is 2**16; Apex starts at 2**16
GROWTH_INTERVAL = 2000      # GradScaler's default


def init_loss_scale(initial: float = INITIAL_SCALE) -> dict:
  return {"scale": jnp.asarray(initial, jnp.float32), "good_steps": jnp.zeros((), jnp.int32)}


def scaled(loss_fn, scale):
  """loss_fn with its loss multiplied by `scale` (the metrics keep the true loss)."""
  def fn(*args):
    loss, aux = loss_fn(*args)
    return loss * scale.astype(loss.dtype), aux
  return fn


def update_loss_scale(loss_scale: dict, finite, growth_interval: int = GROWTH_INTERVAL) -> dict:
  """Halve on overflow (and restart the count); double after growth_interval good steps."""
  good = jnp.where(finite, loss_scale["good_steps"] + 1, 0)
  grow = good >= growth_interval
  scale = jnp.where(finite, jnp.where(grow, loss_scale["scale"] * 2.0, loss_scale["scale"]),
                    jnp.maximum(loss_scale["scale"] * 0.5, 1.0))
  return {"scale": scale, "good_steps": jnp.where(grow, 0, good).astype(jnp.int32)}
