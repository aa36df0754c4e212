"""Tri-Net's training step (Chen, Wang, Gao, Zhou 2018, IJCAI): one round's fine-tuning.

The objective declares Tri-Net's rounds as phases of the one train loop (`phases`): round 0
trains trinet.init_steps steps, each later round trinet.steps_per_round, each on its own
training set. Before a round's first step its `prepare` (jaxvision/objectives/trinet_rounds.py,
the pseudo-labelling) writes, for every training example
of the round, a soft target per head and a 0/1 weight per head:
  labeled examples     weight 1 for all three heads; targets one-hot, or -- in the
                       initialisation and the diversity-augmentation rounds -- smeared by
                       output smearing, a different draw per head;
  pseudo-labeled ones  weight 1 for head v when heads j and h (the other two) agreed on them
                       confidently and stably; target the one-hot of their label.
The 'trinet_round' stream (jaxvision/data/trinet.py) serves these as
{'image', 'targets': (B, 3, C), 'weights': (B, 3)}; no true label of an unlabeled example
ever reaches this file.

Loss: for each head v, the weighted mean cross-entropy of its logits over the examples in
its set, summed over the heads. The shared module M_S receives the gradient of all three
terms: this is the paper's "M_S and M_v are fine-tuned on L and PL_v" for v = 1, 2, 3 done in
one pass over the union of the three sets instead of three passes (a single forward of M_S
per batch; each head still learns only from its own set).

Tri-Net + Pi (trinet.pi_weight > 0): tri-net combined with the Pi-model (Laine & Aila 2017;
reported by secondary sources for the paper, not in the text we could read), whose consistency term is added to every step of every round: two weak
views of unlabeled images (drawn from all of U, whatever the round's pseudo-labels) go through
the net in train mode, and each head pays pi_weight * ramp(step) * the mean squared distance
of its two softmax outputs (losses.pi_consistency), ramped linearly over
trinet.pi_rampup_steps. The labeled/pseudo-labeled batch and the views are ONE forward, so
batch norm sees them together, as MixMatch's mixed batch. How the paper weighted and ramped
the term is not in the text we could read; these are the Pi-model's own form and MixMatch's
linear ramp. Measured on Fashion-MNIST with 400 labels (BUILD_NOTES.md, session 4), weight 75
ramped over the 1000 initialisation steps: rounds 0-1 0.7943, 0.7916 against 0.7960, 0.8037
without, at three times the cost per step; so the Fashion-MNIST config leaves it off.
"""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.objectives import trinet_rounds
from jaxvision.objectives.phases import Phase
from jaxvision.objectives.supervised import apply_model
from jaxvision.settings.semi import SemiSettings
from jaxvision.settings.trinet import TriNetSettings


def per_head_loss(logits, targets, weights):
  """sum_v [sum_i w_iv CE(logits_iv, t_iv) / max(sum_i w_iv, 1)].

  Args:
    logits: (N, V, C); targets: (N, V, C) soft targets; weights: (N, V) in {0, 1}.

  Returns:
    (loss scalar, (V,) per-head mean cross-entropy), float32.
  """
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  ce = -jnp.sum(targets.astype(jnp.float32) * log_probs, axis=-1)          # (N, V)
  w = weights.astype(jnp.float32)
  per_head = jnp.sum(w * ce, axis=0) / jnp.maximum(jnp.sum(w, axis=0), 1.0)
  return jnp.sum(per_head), per_head


@dataclasses.dataclass(frozen=True)
class TriNetObjective:
  model: nn.Module
  settings: TriNetSettings = TriNetSettings()
  semi: SemiSettings = SemiSettings()  # the labeled/unlabeled split

  train_stream = "trinet_round"
  evaluation = "trinet_vote"

  @classmethod
  def from_config(cls, model, config):
    # an unknown trinet.* or semi.* key is an error here, before anything compiles
    if "semi" not in config:
      raise UserError("Tri-Net needs config.semi (labels_per_class, split_seed)")
    return cls(model=model, settings=TriNetSettings.from_config(config),
               semi=SemiSettings.from_config(config))

  @property
  def pi_weight(self) -> float:
    return float(self.settings.pi_weight)

  @property
  def pi_rampup_steps(self) -> int:
    return int(self.settings.pi_rampup_steps)

  def phases(self, config, workdir: str) -> list:
    """Round 0 (initialisation) and rounds 1..R, each on its round file.

    The learning rate of a round follows the config's schedule run over the steps up to the
    round's end; with trinet.restart_schedule, over the round's own steps (each round anneals
    again from the rate it starts at).
    """
    s, out = self.settings, []
    semi = self.semi.in_workdir(workdir)
    for r in range(s.rounds + 1):
      start = 0 if r == 0 else s.init_steps + (r - 1) * s.steps_per_round
      steps = s.init_steps if r == 0 else s.steps_per_round
      begin = start if s.restart_schedule else int(config.get("schedule_start_step", 0))
      out.append(Phase(f"round {r}", start, steps, self.train_stream,
                       stream_args=(("round_file", trinet_rounds.round_path(workdir, r)),
                                    ("semi", semi), ("pi", self.pi_weight > 0)),
                       schedule_span=(begin, start + steps),
                       prepare=functools.partial(trinet_rounds.prepare_round, r)))
    return out

  def loss_fn(self, params, model_state, batch, rng, step):
    x = batch["image"]
    b = x.shape[0]
    u = batch.get("unlabeled_image") if self.pi_weight > 0 else None
    if u is not None:  # (B, mu * 2, H, W, C): pairs of views, one forward with the batch
      x = jnp.concatenate([x, u.reshape(-1, *u.shape[2:]).astype(x.dtype)])
    out, new_state = apply_model(self.model, params, model_state, x, train=True, rng=rng)
    logits = out[:b]
    loss, per_head = per_head_loss(logits, batch["targets"], batch["weights"])
    metrics = {}
    if u is not None:
      pairs = out[b:].reshape(-1, 2, *out.shape[1:])           # (B * mu, 2, 3, C)
      pi = sum(losses.pi_consistency(pairs[:, 0, v], pairs[:, 1, v])
               for v in range(pairs.shape[2]))
      weight = self.pi_weight * losses.linear_rampup(
          step, rampup_steps=self.pi_rampup_steps)
      loss = loss + weight * pi
      metrics.update(loss_pi=pi, pi_weight=weight)
    target_class = jnp.argmax(batch["targets"], axis=-1)
    correct = (jnp.argmax(logits, axis=-1) == target_class).astype(jnp.float32)
    w = batch["weights"].astype(jnp.float32)
    metrics.update(loss=loss,
                   fit_accuracy=jnp.sum(correct * w) / jnp.maximum(jnp.sum(w), 1.0))
    for v in range(per_head.shape[0]):
      metrics[f"loss_head{v + 1}"] = per_head[v]
    return loss, (metrics, new_state)
