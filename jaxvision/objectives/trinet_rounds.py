"""Tri-Net's rounds of tri-training (Chen, Wang, Gao, Zhou 2018, IJCAI, Algorithm 1): the
pseudo-labelling between the phases of one run of the train loop.

The objective (objectives/trinet.py) declares one phase per round; before a round's first step
the loop calls `prepare_round`, which writes the round's training set to
WORKDIR/trinet/round_RR.npz (data/trinet.py) from the state the previous round ended with, or
reuses the file when a resumed run finds it there (a round file that exists is whole).

  round 0      initialisation: M_S and the three heads on the labeled set, each head with its
               own output-smeared targets (so the heads start different).
  round t >= 1 pool: N_t = min(pool_base * 2^t, |U|) unlabeled examples drawn for the round.
               For each head v, the pool examples on which the other two heads agree with
               confidence > sigma_t (losses.agreement_pseudo_labels), then edited by the
               dropout stability check (losses.stable_under_dropout, K passes), form PL_v.
               Train on L (one-hot) + PL_1, PL_2, PL_3 (each for its head).
               Diversity augmentation: once N_t reaches |U|, every `fine_tune_every`-th round
               instead retrains on L with fresh output smearing and lowers sigma by
               `sigma_decay`; the round after any smearing uses sigma - sigma_os, because heads
               fitted to smeared targets are less confident.
Every round appends to WORKDIR/trinet_rounds.jsonl the pseudo-label counts per head and their
accuracy against the hidden labels (read here for the log only; the round file never holds
them), and the loop logs the test accuracy of the vote at the end of each round.

Settings in config.trinet (jaxvision/settings/trinet.py, which says where each default comes
from: T = 30 and the pool schedule are the paper's; sigma0 0.95, sigma_os 0.25, sigma_decay
0.05, smearing std 0.05, diversity augmentation every 4 rounds, K = 6 dropout passes with at
most 1/3 unstable are ModSSC's reimplementation's; the paper's text for those could not be read). trinet.class_balance keeps each round's count but takes it per class in
the labeled set's proportions (losses.class_balanced_pseudo_labels; not in the paper, see
there why). trinet.labeled_share repeats L in each tri-training round's set so it stays about
that share of it (labeled_repeats; not in the paper, see there why).

Imports TensorFlow (jaxvision.data) only inside prepare_round: importing objectives stays
TF-free.
"""

import functools
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision import paths
from jaxvision.losses import consistency as losses


def round_path(workdir: str, r: int) -> str:
  return paths.join(workdir, "trinet", f"round_{r:02d}.npz")


def labeled_repeats(num_labeled: int, num_pseudo: int, share: float) -> int:
  """How many copies of L make it about `share` of a round's set of L + PL examples.

  Why (trinet.labeled_share, not in the paper): the plain union L + PL_v is soon mostly
  pseudo-labels, which hold almost none of the hard classes (Fashion-MNIST, 400 labels: 0-3
  shirts among 2,700-6,100 pseudo-labels per head by round 2-3, BUILD_NOTES.md), so the
  class prior the heads see drifts away from the labeled set's. Repeating L keeps its share
  (and prior) fixed. 0 means one copy (the paper's union).
  """
  if share <= 0 or num_labeled == 0:
    return 1
  return max(1, round(share / (1.0 - share) * num_pseudo / num_labeled))


def schedule(s, num_unlabeled: int):
  """[(round, pool size, fine_tune?, sigma_t)] for rounds 1..R of TriNetSettings `s`: a pure
  function of the settings, so a resumed run recomputes the same thresholds."""
  sigma, after_smearing, plan = s.sigma0, True, []
  for r in range(1, s.rounds + 1):
    pool = min(s.pool_base * 2 ** r, num_unlabeled)
    if pool == num_unlabeled and s.fine_tune_every > 0 and r % s.fine_tune_every == 0:
      sigma = max(0.0, sigma - s.sigma_decay)
      after_smearing = True
      plan.append((r, pool, True, None))
      continue
    sigma_t = min(1.0, max(0.0, sigma - s.sigma_os if after_smearing else sigma))
    after_smearing = False
    plan.append((r, pool, False, sigma_t))
  return plan


def smeared_round(labels_l, num_classes, s, seed, r):
  """Targets (M, 3, C) for the labeled set: one output-smearing draw per head."""
  keys = jax.random.split(jax.random.fold_in(jax.random.key(seed), 7_919 * (r + 1)), 3)
  targets = np.stack([np.asarray(losses.output_smearing(labels_l, num_classes,
                                                        std=s.smear_std, key=k))
                      for k in keys], axis=1)
  return targets, np.ones((len(labels_l), 3), np.float32)


def pooled_features(exp, variables, batches):
  """(N, 3, D) each head's pooled features in eval mode, for a model whose dropout sits only
  after pooling (`dropout_after_pooling`, models.trinet.TriNet): what predict_pool(pooled=True)
  reads, so one convolution pass serves the eval probabilities and every dropout pass."""
  apply = jax.jit(lambda v, x: exp.model.apply(v, x, train=False, part="pooled"))
  return np.concatenate([np.asarray(apply(variables, x)) for x in batches])


def predict_pool(exp, variables, batches, *, dropout_passes=0, seed=0, pooled=False):
  """(N, 3, C) head probabilities in eval mode, or (K, N, 3, C) with dropout on; batches of
  images, or of pooled_features' rows with `pooled`. Pass k of batch i draws its masks from
  fold_in(key(seed), k * 100_003 + i), the same masks either way."""
  def probs(v, x, **kw):
    logits = (exp.model.apply(v, x, part="classifiers", **kw) if pooled
              else exp.model.apply(v, x, train=False, **kw))
    return jax.nn.softmax(logits.astype(jnp.float32), -1)

  if not dropout_passes:
    apply = jax.jit(probs)
    return np.concatenate([np.asarray(apply(variables, x)) for x in batches])
  base = jax.random.key(seed)
  keys = lambda i: jnp.stack([jax.random.fold_in(base, k * 100_003 + i)
                              for k in range(dropout_passes)])
  over_keys = jax.vmap if pooled else lambda f: functools.partial(jax.lax.map, f)
  mc = jax.jit(lambda v, x, ks: over_keys(  # (K, n, 3, C) for one batch
      lambda key: probs(v, x, mc_dropout=True, rngs={"dropout": key}))(ks))
  return np.concatenate([np.asarray(mc(variables, x, keys(i))) for i, x in enumerate(batches)],
                        axis=1)


def pseudo_label_round(probs, mc_probs_fn, sigma_t, s, prior=None):
  """Per head v: (labels, keep mask over the pool) from heads j, h (agreement + DES).

  With `prior` (trinet.class_balance) the count the threshold rule keeps is redistributed
  over the classes in the prior's proportions (losses.class_balanced_pseudo_labels) before DES.
  """
  out = []
  for v in range(3):
    j, h = [i for i in range(3) if i != v]
    labels, keep = losses.agreement_pseudo_labels(probs[:, j], probs[:, h], sigma=sigma_t)
    if prior is not None:
      labels, keep = losses.class_balanced_pseudo_labels(probs[:, j], probs[:, h],
                                                         count=int(np.sum(keep)), prior=prior)
    out.append((np.asarray(labels), np.asarray(keep)))
  candidates = np.flatnonzero(np.any([keep for _, keep in out], axis=0))
  edited = []
  mc = mc_probs_fn(candidates) if len(candidates) and s.des_passes > 0 else None
  for v, (labels, keep) in enumerate(out):
    final = keep.copy()
    if mc is not None:
      j, h = [i for i in range(3) if i != v]
      preds = np.argmax(0.5 * (mc[:, :, j] + mc[:, :, h]), axis=-1)      # (K, n_cand)
      stable = np.asarray(losses.stable_under_dropout(
          preds, labels[candidates], max_unstable_fraction=s.des_max_unstable))
      final[candidates] &= stable
    edited.append((labels, keep, final))
  return edited


def _log(workdir, record):
  if jax.process_index() == 0:
    paths.append_text(paths.join(workdir, "trinet_rounds.jsonl"), json.dumps(record) + "\n")
  print("trinet: " + json.dumps(record), flush=True)


def _acc(pred, truth):
  return round(float(np.mean(pred == truth)), 4) if len(truth) else None


def prepare_round(r: int, exp, variables) -> None:
  """Writes round r's file from `variables` (the end of round r - 1, the EMA when kept, as
  the evaluation sees them), unless the file is there already."""
  from jaxvision.data import semi, trinet as trinet_data  # TensorFlow: see the docstring

  config, workdir, source = exp.config, exp.workdir, exp.source
  s = exp.objective.settings
  path = round_path(workdir, r)
  if paths.exists(path):
    return
  labeled, unlabeled = semi.split_indices(source, exp.objective.semi)
  images, hidden = semi.train_arrays(source)
  c = source.num_classes
  paths.makedirs(paths.join(workdir, "trinet"))
  if r == 0:
    trinet_data.write_round_file(path, labeled, *smeared_round(hidden[labeled], c, s,
                                                               config.seed, 0))
    _log(workdir, {"round": 0, "kind": "init: output smearing", "labeled": len(labeled)})
    return
  start = time.time()
  _, pool_size, fine_tune, sigma_t = schedule(s, len(unlabeled))[r - 1]
  if fine_tune:
    trinet_data.write_round_file(path, labeled,
                                 *smeared_round(hidden[labeled], c, s, config.seed, r))
    _log(workdir, {"round": r, "kind": "diversity augmentation: output smearing on L"})
    return
  eye = np.eye(c, dtype=np.float32)
  pool = np.sort(np.random.default_rng([config.seed, r]).choice(
      unlabeled, pool_size, replace=False))
  # rows(pos): batches of the pool's rows at positions `pos`, as the heads' inputs
  rows = lambda pos: list(trinet_data.eval_batches(images[pool[pos]], config.data,
                                                   s.predict_batch))
  pooled = getattr(exp.model, "dropout_after_pooling", False)
  if pooled:  # one convolution pass over the pool; the rest reads its pooled features
    features = pooled_features(exp, variables, rows(np.arange(len(pool))))
    rows = lambda pos: [features[pos[i:i + s.predict_batch]]
                        for i in range(0, len(pos), s.predict_batch)]
  probs = predict_pool(exp, variables, rows(np.arange(len(pool))), pooled=pooled)
  mc_fn = lambda pos: predict_pool(exp, variables, rows(pos), pooled=pooled,
                                   dropout_passes=s.des_passes, seed=config.seed + r)
  prior = (np.bincount(hidden[labeled], minlength=c) / len(labeled)
           if s.class_balance else None)  # the labeled set's own proportions
  heads = pseudo_label_round(probs, mc_fn, sigma_t, s, prior)
  chosen = np.flatnonzero(np.any([f for _, _, f in heads], axis=0))
  copies = labeled_repeats(len(labeled), len(chosen), s.labeled_share)
  lab = np.tile(labeled, copies)
  index, targets, weights = [lab], [np.repeat(eye[hidden[lab]][:, None], 3, 1)], [
      np.ones((len(lab), 3), np.float32)]
  t = np.zeros((len(chosen), 3, c), np.float32)
  w = np.zeros((len(chosen), 3), np.float32)
  record = {"round": r, "kind": "tri-training", "pool": int(pool_size),
            "sigma": round(float(sigma_t), 4), "labeled_copies": copies}
  for v, (labels, keep, final_mask) in enumerate(heads):
    t[:, v] = eye[labels[chosen]]
    w[:, v] = final_mask[chosen]
    truth = hidden[pool]  # hidden labels: for this log only
    record[f"head{v + 1}"] = {
        "agreed": int(keep.sum()), "kept": int(final_mask.sum()),
        "agreed_acc": _acc(labels[keep], truth[keep]),
        "kept_acc": _acc(labels[final_mask], truth[final_mask]),
        "kept_per_class": np.bincount(labels[final_mask], minlength=c).tolist()}
  index.append(pool[chosen]); targets.append(t); weights.append(w)
  trinet_data.write_round_file(path, np.concatenate(index), np.concatenate(targets),
                               np.concatenate(weights))
  record["seconds"] = round(time.time() - start, 1)
  _log(workdir, record)
