"""MixMatch (Berthelot et al. 2019, "MixMatch: A Holistic Approach to Semi-Supervised Learning").

One step (Algorithm 1 of the paper), on the batch of the 'mixmatch' stream
(jaxvision/data/semi.py): B labeled images with labels, and K weak views of B * mu unlabeled
images (no labels).
  1. Guess: q = Sharpen(mean over the K views of softmax(model(u_k)), T), treated as a constant.
  2. MixUp over W = Shuffle(concat(X_hat, U_hat)): X' = MixUp(X_hat_i, W_i), U' = MixUp(U_hat_i,
     W_{|X|+i}) with lambda ~ Beta(alpha, alpha) and lambda' = max(lambda, 1 - lambda), a
     fresh lambda for every row (mixmatch.per_example_lambda, the authors' code).
  3. Loss: cross-entropy on X' + lambda_u * ramp(step) * mean squared error on U'.
Weight decay and the EMA of the parameters used for evaluation are the optimiser's and the
loop's (config.weight_decay with adamw, config.ema_decay), not this file's.

Batch norm: the guesses are computed with batch statistics over all B * mu * K unlabeled
views together; the training forward is ONE call on the concatenation [X'; U'] (B + B * mu * K
rows), so its statistics come from the mixed batch as a whole, in which labeled and unlabeled
images are already blended by MixUp. No part of the batch is normalised on its own. The
running averages (what evaluation uses) are updated by both calls, clean views first, then the
mixed batch, as in the PyTorch reference (YU1ut/MixMatch-pytorch, where every train-mode call
updates them): test images are clean, and averages of mixed images alone (google-research
skips the guess's update, `mixmatch.guess_updates_bn=False`) have a lower variance than clean
ones.
(The reference implementations call the model on separate labeled/unlabeled chunks and
"interleave" them so each chunk is representative of the whole; that works around per-call
statistics on several GPUs. Under jit the whole batch is one call, and BN statistics are
global over the sharded batch dimension, so the interleave is not needed.)

Settings in config.mixmatch (jaxvision/settings/mixmatch.py; defaults = the paper's CIFAR-10
values): temperature 0.5, alpha 0.75, lambda_u 75, rampup_steps 16384 (the reference ramps
over 16 "kimg" epochs of 1024 steps), and config.semi.num_augment = K = 2.

Optional, not in the MixMatch paper: `distribution_alignment` (ReMixMatch, Berthelot et al.
2020, sec. 3.2) rescales each averaged guess by p_target / p_model before sharpening, where
p_model is the mean of the model's average prediction on the last `alignment_window` (128, as
ReMixMatch) unlabeled batches and p_target is uniform (the labeled split is balanced). Those
128 batch means are kept in the model state's collection 'mixmatch_alignment' (so they are
checkpointed and resumed with the run), started at 1/K as the authors' code starts them.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxvision import losses
from jaxvision.objectives.supervised import apply_model, split_aux
from jaxvision.settings.mixmatch import MixMatchSettings
from jaxvision.settings.semi import SemiSettings

# The model-state collection that holds distribution alignment's window (see the docstring).
ALIGNMENT = "mixmatch_alignment"


def guess_labels(probs_views, *, temperature: float, p_model=None):
  """MixMatch's label guess: (N, K, C) probabilities of K views -> (N, C) sharpened mean.

  p_model: (C,) the model's running mean prediction on unlabeled data; if given, the mean is
  distribution-aligned to a uniform class prior before sharpening (ReMixMatch).
  """
  mean = jnp.mean(probs_views.astype(jnp.float32), axis=1)
  if p_model is not None:
    c = mean.shape[-1]
    mean = losses.distribution_alignment(mean, p_model, jnp.full((c,), 1.0 / c, jnp.float32))
  return losses.sharpen(mean, temperature=temperature)


def mix_with_shuffle(all_x, all_y, lam_rng, perm_rng, *, alpha: float, per_example: bool):
  """Row i of the result mixes row i of (all_x, all_y) with row perm(i) of a shuffle of them
  (W), lambda ~ Beta(alpha, alpha) drawn per row or once (see MixMatch.per_example_lambda);
  losses.mixup keeps lambda' = max(lambda, 1 - lambda) on row i's side."""
  perm = jax.random.permutation(perm_rng, all_x.shape[0])
  lam = jax.random.beta(lam_rng, alpha, alpha, shape=(all_x.shape[0],) if per_example else ())
  return losses.mixup(all_x, all_y, all_x[perm], all_y[perm], lam=lam)


@dataclasses.dataclass(frozen=True)
class MixMatch:
  model: nn.Module
  temperature: float = 0.5
  alpha: float = 0.75
  lambda_u: float = 75.0
  rampup_steps: int = 16384
  num_augment: int = 2
  guess_updates_bn: bool = True
  # One lambda per row of W, as the authors' code draws it (google-research/mixmatch,
  # libml/layers.py MixMode.augment_pair: Beta(...).sample([batch, 1, 1, 1])); False draws
  # one for the whole batch, as YU1ut/MixMatch-pytorch does.
  per_example_lambda: bool = True
  distribution_alignment: bool = False
  alignment_window: int = 128
  semi: SemiSettings = SemiSettings()  # the split and mu, K: the stream's

  train_stream = "mixmatch"
  evaluation = "classification"

  @classmethod
  def from_config(cls, model, config):
    # typed settings: defaults in one place, an unknown mixmatch.* or semi.* key an error
    settings = dataclasses.asdict(MixMatchSettings.from_config(config))
    semi = SemiSettings.from_config(config)
    return cls(model=model, num_augment=semi.num_augment, semi=semi, **settings)

  def stream_args(self, workdir: str) -> dict:
    return {"semi": self.semi.in_workdir(workdir)}

  def init_model_state(self, model_state):
    """Adds the window of unlabeled-batch mean predictions distribution alignment reads."""
    if not self.distribution_alignment:
      return model_state
    c = self.model.num_classes
    return {**model_state, ALIGNMENT: {"history": jnp.full((self.alignment_window, c), 1.0 / c,
                                                           jnp.float32)}}

  def _alignment(self, probs_views, window):
    """(p_model for guess_labels or None, the alignment collection after this batch)."""
    if not self.distribution_alignment:
      return None, {}
    history = window["history"]
    # p_model is the window as it stood before this batch: the authors' code reads it, then
    # pushes this batch's mean prediction (over images, of the mean over views).
    batch_mean = jax.lax.stop_gradient(jnp.mean(probs_views, axis=(0, 1)))
    new_history = jnp.concatenate([batch_mean[None], history[:-1]])   # drop the oldest
    return jnp.mean(history, axis=0), {ALIGNMENT: {"history": new_history}}

  def loss_fn(self, params, model_state, batch, rng, step):
    x = batch["image"]
    b = x.shape[0]
    num_classes = self.model.num_classes
    y = jax.nn.one_hot(batch["label"], num_classes, dtype=jnp.float32)
    u = batch["unlabeled_image"]                      # (B, mu * K, H, W, C)
    k = u.shape[1]
    u_flat = u.reshape(b * k, *u.shape[2:])
    lam_rng, perm_rng, guess_rng, drop_rng = jax.random.split(rng, 4)
    # The alignment window is this objective's, not the model's: keep it out of model.apply.
    model_state = dict(model_state)
    window = model_state.pop(ALIGNMENT, None)

    # 1. Guess: one call over all unlabeled views (batch statistics of the clean views).
    guess_out, guess_state = apply_model(self.model, params, model_state, u_flat, train=True,
                               rng=guess_rng)
    probs = jax.nn.softmax(split_aux(guess_out)[0].astype(jnp.float32), axis=-1)
    # Rows of u are [example 0: views 0..K-1 of its mu images, ...]; the stream lays the mu
    # images' K views out consecutively, so (B * mu, K) recovers one row per image.
    views = self.num_augment
    probs_views = probs.reshape(b * k // views, views, num_classes)
    p_model, new_alignment = self._alignment(probs_views, window)
    q = guess_labels(probs_views, temperature=self.temperature, p_model=p_model)
    q = jax.lax.stop_gradient(jnp.repeat(q, views, axis=0))   # each view keeps its guess

    # 2. MixUp over the shuffled concatenation W.
    all_x = jnp.concatenate([x.astype(jnp.float32), u_flat.astype(jnp.float32)])
    all_y = jnp.concatenate([y, q])
    mixed_x, mixed_y = mix_with_shuffle(all_x, all_y, lam_rng, perm_rng, alpha=self.alpha,
                                        per_example=self.per_example_lambda)

    # 3. One training forward over [X'; U'] (see the module docstring on batch norm).
    # Train-mode BN normalises with batch statistics, so which running averages go in changes
    # only the averages that come out.
    running = guess_state if self.guess_updates_bn else model_state
    out, new_state = apply_model(self.model, params, running, mixed_x.astype(x.dtype),
                                 train=True, rng=drop_rng)
    logits = split_aux(out)[0]
    loss_x, loss_u = losses.mixmatch_losses(logits[:b], mixed_y[:b], logits[b:], mixed_y[b:])
    weight = self.lambda_u * losses.linear_rampup(step, rampup_steps=self.rampup_steps)
    loss = loss_x + weight * loss_u
    accuracy = jnp.mean((jnp.argmax(logits[:b], -1) == jnp.argmax(mixed_y[:b], -1))
                        .astype(jnp.float32))
    metrics = {"loss": loss, "loss_x": loss_x, "loss_u": loss_u, "lambda_u": weight,
               "mixed_accuracy": accuracy}
    return loss, (metrics, {**new_state, **new_alignment})

