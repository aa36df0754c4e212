"""Semi- and self-supervised pieces: MixMatch, mean-teacher EMA, rotation prediction, Tri-Net.

Pure jax.numpy (Tri-Net's class-balanced choice: numpy, see there); the objectives in
jaxvision/objectives/ combine them with a model.
"""

import jax
import jax.numpy as jnp
import numpy as np

# ----------------------------------------------------------------------------- MixMatch
# Berthelot et al. 2019, "MixMatch: A Holistic Approach to Semi-Supervised Learning".
# Reference implementations: google-research/mixmatch (mixmatch.py) and YU1ut/MixMatch-pytorch.


def sharpen(p, *, temperature: float):
  """Temperature sharpening, MixMatch eq. 7: p_k^(1/T) / sum_j p_j^(1/T).

  Args:
    p: (..., K) class probabilities (e.g. the average over K augmentations).
    temperature: T in (0, 1]; T -> 0 tends to one-hot.

  Returns:
    float32 array of p's shape, each row summing to 1.
  """
  p = p.astype(jnp.float32) ** (1.0 / temperature)
  return p / jnp.sum(p, axis=-1, keepdims=True)


def _per_example(lam, x):
  # A scalar lam mixes the whole batch (the reference draws one per batch); an (N,) lam
  # is broadcast over the trailing axes of x.
  return jnp.reshape(lam, jnp.shape(lam) + (1,) * (x.ndim - jnp.ndim(lam)))


def mixup(x1, y1, x2, y2, *, lam):
  """MixUp as modified by MixMatch (eqs. 8-11).

  Args:
    x1, x2: (N, ...) inputs of one shape; y1, y2: (N, K) soft targets.
    lam: a Beta(alpha, alpha) draw, scalar or (N,). Inside, lam' = max(lam, 1 - lam) is used
      (eq. 9), so the result stays closer to (x1, y1): MixMatch relies on this to keep the
      labelled and unlabelled parts of the batch distinguishable for the two loss terms.

  Returns:
    (x, y): lam' * x1 + (1 - lam') * x2 and the same for y, float32.
  """
  lam = jnp.asarray(lam, jnp.float32)
  lam = jnp.maximum(lam, 1.0 - lam)
  lx, ly = _per_example(lam, x1), _per_example(lam, y1)
  x = lx * x1.astype(jnp.float32) + (1.0 - lx) * x2.astype(jnp.float32)
  y = ly * y1.astype(jnp.float32) + (1.0 - ly) * y2.astype(jnp.float32)
  return x, y


def mixmatch_losses(logits_x, targets_x, logits_u, targets_u):
  """MixMatch's two loss terms (eqs. 3-4).

  Args:
    logits_x: (Nx, K) logits on the mixed labelled batch X'; targets_x: (Nx, K) its soft
      targets.
    logits_u: (Nu, K) logits on the mixed unlabelled batch U'; targets_u: (Nu, K) its guessed,
      sharpened and mixed targets (treat them as constants: stop_gradient in the objective).

  Returns:
    (L_x, L_u), float32 scalars. L_x: soft cross-entropy, mean over Nx. L_u: squared error
    between softmax(logits_u) and targets_u averaged over examples *and* classes, i.e. the
    paper's 1/(K |U'|) sum ||q - p||^2; this is what both reference implementations compute
    (`tf.reduce_mean(tf.square(labels_u - tf.nn.softmax(logits_u)))` in google-research,
    `torch.mean((probs_u - targets_u)**2)` in YU1ut), so lambda_u values carry over.
  """
  log_probs_x = jax.nn.log_softmax(logits_x.astype(jnp.float32), axis=-1)
  loss_x = -jnp.mean(jnp.sum(targets_x.astype(jnp.float32) * log_probs_x, axis=-1))
  probs_u = jax.nn.softmax(logits_u.astype(jnp.float32), axis=-1)
  loss_u = jnp.mean(jnp.square(probs_u - targets_u.astype(jnp.float32)))
  return loss_x, loss_u


def distribution_alignment(probs, p_model, p_target, *, eps: float = 1e-6):
  """ReMixMatch's distribution alignment (Berthelot et al. 2020, sec. 3.2), before sharpening.

  q = Normalize(probs * p_target / p_model): a class the model predicts less often on
  unlabeled data than the labels say it occurs (p_model < p_target) gets its guesses scaled
  up, so the guessed targets do not inherit the model's class skew. eps as in the authors'
  code (google-research/remixmatch: `(1e-6 + p_target) / (1e-6 + p_model())`).

  Args:
    probs: (N, K) class probabilities (the guess before sharpening).
    p_model: (K,) running average of the model's predictions on unlabeled data.
    p_target: (K,) the class distribution of the labels (uniform for a balanced split).

  Returns:
    (N, K) float32, each row summing to 1.
  """
  ratio = (eps + jnp.asarray(p_target, jnp.float32)) / (eps + jnp.asarray(p_model, jnp.float32))
  q = probs.astype(jnp.float32) * ratio
  return q / jnp.sum(q, axis=-1, keepdims=True)


def linear_rampup(step, *, rampup_steps: int):
  """Weight ramp for the unlabelled loss: clip(step / rampup_steps, 0, 1), float32.

  `step` may be a traced integer. rampup_steps == 0 means no ramp (weight 1), as in YU1ut's
  `linear_rampup`.
  """
  if rampup_steps <= 0:
    return jnp.ones((), jnp.float32)
  return jnp.clip(jnp.asarray(step, jnp.float32) / rampup_steps, 0.0, 1.0)


def ema_update(ema_params, params, *, decay):
  """Exponential moving average of parameters, leaf by leaf: decay * ema + (1 - decay) * new.

  Used for MixMatch's evaluation model and mean teachers (Tarvainen & Valpola 2017). Works on
  any pytree of arrays of matching structure. The arithmetic is float32; each result is cast
  back to the dtype of its `ema_params` leaf so the train state keeps the same dtypes from step
  to step (a changed dtype would retrace the jitted step).
  """
  decay = jnp.asarray(decay, jnp.float32)

  def one(e, p):
    out = decay * e.astype(jnp.float32) + (1.0 - decay) * p.astype(jnp.float32)
    return out.astype(e.dtype)

  return jax.tree.map(one, ema_params, params)


# ---------------------------------------------------------------- rotation prediction
# Gidaris, Singh, Komodakis 2018, "Unsupervised Representation Learning by Predicting Image
# Rotations": the pretext task is a 4-way classification of 0/90/180/270 degree rotations.


def rotate_batch(images):
  """All four rotations of a batch of square NHWC images.

  Args:
    images: (N, H, W, C) with H == W (a 90-degree turn of a non-square image changes its shape
      and the four copies could not share one batch).

  Returns:
    (4N, H, W, C) in the order [all N at 0 deg, all N at 90, all N at 180, all N at 270],
    rotations counter-clockwise as np.rot90(images, k, axes=(1, 2)). The dtype is kept: a
    rotation only moves pixels. Labels for this order: `rotation_targets(N)`.
  """
  if images.ndim != 4 or images.shape[1] != images.shape[2]:
    raise ValueError(f"rotate_batch wants square NHWC images, got shape {images.shape}")
  return jnp.concatenate([jnp.rot90(images, k, axes=(1, 2)) for k in range(4)], axis=0)


def rotation_targets(n: int):
  """(4n,) int32 labels [0]*n + [1]*n + [2]*n + [3]*n matching `rotate_batch`'s order."""
  return jnp.repeat(jnp.arange(4, dtype=jnp.int32), n)


# -------------------------------------------------------------------------------- Tri-Net
# Chen, Wang, Gao, Zhou 2018, "Tri-net for Semi-Supervised Deep Learning" (IJCAI).


def agreement_pseudo_labels(probs_j, probs_k, *, sigma: float):
  """Tri-Net's Labeling rule: pseudo-labels for one head from the other two heads.

  An unlabelled example is kept for the third head when heads j and k predict the same class
  and the prediction is confident, confidence being the *mean* of the two heads' maximum
  posterior probabilities, (max_c p_j + max_c p_k) / 2 > sigma. Reimplementations differ here:
  ModSSC's `trinet.py` tests this arithmetic mean (>=), a PyTorch MNIST one (xrn1997/iToLoc)
  the geometric mean ((log p_j + log p_k) / 2 >= log sigma_t, though its docstring says
  "average maximum posterior probability"), a Keras one the minimum; we use ModSSC's, with >.
  We could not read the paper's own sentence (#25). It is looser than requiring both confidences
  > sigma: 0.99 and 0.93 pass sigma = 0.95. Tri-Net's further filter (dropping pseudo-labels
  that are unstable under dropout) needs the model and lives in the objective.

  Args:
    probs_j, probs_k: (N, K) class probabilities of the two other heads (softmax outputs).
    sigma: confidence threshold (Tri-Net lowers it from round to round).

  Returns:
    labels: (N,) int32 argmax of head j (equal to head k's wherever kept).
    keep_mask: (N,) bool, True where the example is pseudo-labelled.
  """
  pj = probs_j.astype(jnp.float32)
  pk = probs_k.astype(jnp.float32)
  labels = jnp.argmax(pj, axis=-1).astype(jnp.int32)
  agree = labels == jnp.argmax(pk, axis=-1)
  confidence = 0.5 * (jnp.max(pj, axis=-1) + jnp.max(pk, axis=-1))
  return labels, agree & (confidence > sigma)


def class_balanced_pseudo_labels(probs_j, probs_k, *, count: int, prior):
  """The same number of pseudo-labels as the threshold rule, chosen per class by the prior.

  Why: at a fixed confidence threshold the easy classes fill the pseudo-labeled set and the
  hard ones almost vanish (Fashion-MNIST, 400 labels, round 1 of a Tri-Net + Pi run: 155-178
  each of trousers, bags and ankle boots among 1,059 pseudo-labels, 29 coats, 3 shirts), so
  fine-tuning on it teaches the heads that the hard classes are rare.
  Co-training (Blum & Mitchell 1998) adds examples per class in the labeled data's
  proportions; this does that with Tri-Net's count: class c gets round(count * prior_c) of
  the examples on which heads j and k agree, the most confident first (confidence as in
  agreement_pseudo_labels), or all of them if fewer agree. Not in the Tri-Net paper
  (trinet.class_balance switches it on). numpy, not jax.numpy: it runs between rounds, and
  a stable sort makes the choice among equal confidences reproducible. Measured there
  (BUILD_NOTES.md, session 4): round 1 took 90-102 shirts per head of ~1,180, pseudo-label
  accuracy fell from 93.5% to 89%, and the vote's test accuracy did not move (rounds 1-3:
  0.8044, 0.8037, 0.8048 against 0.8037, 0.8033, 0.8049 without).

  Args:
    probs_j, probs_k: (N, C) probabilities of the two other heads.
    count: how many pseudo-labels the threshold rule kept (the paper's number this round).
    prior: (C,) class proportions of the labeled set.

  Returns:
    labels (N,) int32 and keep_mask (N,) bool numpy arrays, as agreement_pseudo_labels.
  """
  pj = np.asarray(probs_j, np.float32)
  pk = np.asarray(probs_k, np.float32)
  labels = np.argmax(pj, axis=-1).astype(np.int32)
  agree = labels == np.argmax(pk, axis=-1)
  confidence = 0.5 * (pj.max(-1) + pk.max(-1))
  keep = np.zeros(len(labels), bool)
  quota = np.rint(count * np.asarray(prior, np.float64) / np.sum(prior)).astype(int)
  for c, q in enumerate(quota):
    members = np.flatnonzero(agree & (labels == c))
    # stable sort on -confidence: ties go to the lower index, so the choice is reproducible
    keep[members[np.argsort(-confidence[members], kind="stable")[:q]]] = True
  return labels, keep


def output_smearing(labels, num_classes: int, *, std: float, key):
  """Tri-Net's initialisation targets: one-hot labels plus ReLU(Gaussian) noise, renormalised.

  Output smearing (Breiman 2000) as Tri-Net uses it so the three heads, trained on different
  draws, start different: y_hat = y + ReLU(z), z ~ N(0, std^2) per class, then y_hat / sum
  y_hat so the target is a distribution (the form of ModSSC's reimplementation; the paper's
  own sentence could not be retrieved here).

  Args:
    labels: (N,) int class indices; num_classes: C; std: the noise scale; key: a PRNG key.

  Returns:
    (N, C) float32 rows summing to 1, the true class still the largest entry for small std.
  """
  one_hot = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
  noise = jax.nn.relu(std * jax.random.normal(key, one_hot.shape, jnp.float32))
  smeared = one_hot + noise
  return smeared / jnp.sum(smeared, axis=-1, keepdims=True)


def stable_under_dropout(pass_predictions, labels, *, max_unstable_fraction: float = 1 / 3):
  """Tri-Net's pseudo-label editing: keep a pseudo-label the dropout passes mostly reproduce.

  Args:
    pass_predictions: (K, N) int class predictions of the two labelling heads (from their
      averaged probabilities) in K forward passes with dropout on.
    labels: (N,) the pseudo-labels.
    max_unstable_fraction: a label survives when at most floor(K * this) passes disagree
      with it (1/3, as in ModSSC's reimplementation).

  Returns:
    (N,) bool keep mask.
  """
  k = pass_predictions.shape[0]
  mismatches = jnp.sum(pass_predictions != labels[None, :], axis=0)
  return mismatches <= int(k * max_unstable_fraction + 1e-9)


def pi_consistency(logits_a, logits_b):
  """The Pi-model's consistency term (Laine & Aila 2017): squared distance of the softmax
  outputs of two stochastic passes (two augmentations, fresh dropout) of the same inputs.

  Averaged over examples *and* classes, the paper's 1/C ||z - z~||^2 per example and the
  normalisation of mixmatch_losses' L_u, so weights carry over between the two. Both passes
  keep their gradients, as in the Pi-model (no stop_gradient: neither pass is the teacher).

  Args:
    logits_a, logits_b: (..., C) logits of the two passes, same shape.

  Returns:
    float32 scalar.
  """
  pa = jax.nn.softmax(logits_a.astype(jnp.float32), axis=-1)
  pb = jax.nn.softmax(logits_b.astype(jnp.float32), axis=-1)
  return jnp.mean(jnp.square(pa - pb))
