"""Tri-Net's rounds of tri-training (Chen, Wang, Gao, Zhou 2018, IJCAI, Algorithm 1) around the
one train loop.

Each round is an ordinary run of `loop.train_and_evaluate` in the same workdir: the config's
`trinet.round_file` names the round's training set (written here) and `num_train_steps` grows
by `trinet.steps_per_round`, so the loop resumes from the previous round's checkpoint and
trains on the new set. Between rounds this driver loads the latest checkpoint, predicts on
the unlabeled pool and writes the next round file. Nothing forks the loop.

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
them), and the loop logs the test accuracy of the vote after each round.

Settings in config.trinet (defaults: Tri-Net's as ModSSC's reimplementation reads the paper
-- sigma0 0.95, sigma_os 0.25, sigma_decay 0.05, smearing std 0.05, pool 1000 * 2^t,
diversity augmentation every 4 rounds, K = 6 dropout passes, at most 1/3 of them unstable;
the paper's own text beyond its abstract could not be retrieved when this was written).
trinet.pi_weight > 0 adds the Pi-model's consistency term to every step of every round
(Tri-Net + Pi; jaxvision/objectives/trinet.py), ramped over trinet.pi_rampup_steps.
trinet.class_balance keeps each round's count but takes it per class in the labeled set's
proportions (class_balanced_pseudo_labels; not in the paper, see there why).
trinet.labeled_share repeats L in each tri-training round's set so it stays about that share
of it (labeled_repeats; not in the paper, see there why).

  jaxvision train --config configs/trinet_fashion_mnist.py --workdir W   (runs the rounds)
"""

import copy
import dataclasses
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow as tf

from jaxvision import paths
from jaxvision.losses import consistency as losses
from jaxvision.data import semi, sources, views
from jaxvision.errors import UserError
from jaxvision.settings.trinet import TriNetSettings
from jaxvision.train import experiment, loop
from jaxvision.train.state import eval_variables

# The settings as a dict (the round code indexes them by name); defaults: TriNetSettings.
DEFAULTS = {k: v for k, v in dataclasses.asdict(TriNetSettings()).items() if k != "round_file"}


def settings(config) -> dict:
  return dataclasses.asdict(TriNetSettings.from_config(config))


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


def round_path(workdir: str, r: int) -> str:
  return paths.join(workdir, "trinet", f"round_{r:02d}.npz")


def schedule(s: dict, num_unlabeled: int):
  """[(round, pool size, fine_tune?, sigma_t)] for rounds 1..R: a pure function of settings,
  so a resumed run recomputes the same thresholds."""
  sigma, after_smearing, plan = s["sigma0"], True, []
  for r in range(1, s["rounds"] + 1):
    pool = min(s["pool_base"] * 2 ** r, num_unlabeled)
    if pool == num_unlabeled and s["fine_tune_every"] > 0 and r % s["fine_tune_every"] == 0:
      sigma = max(0.0, sigma - s["sigma_decay"])
      after_smearing = True
      plan.append((r, pool, True, None))
      continue
    sigma_t = min(1.0, max(0.0, sigma - s["sigma_os"] if after_smearing else sigma))
    after_smearing = False
    plan.append((r, pool, False, sigma_t))
  return plan


def smeared_round(labels_l, num_classes, s, seed, r):
  """Targets (M, 3, C) for the labeled set: one output-smearing draw per head."""
  keys = jax.random.split(jax.random.fold_in(jax.random.key(seed), 7_919 * (r + 1)), 3)
  targets = np.stack([np.asarray(losses.output_smearing(labels_l, num_classes,
                                                        std=s["smear_std"], key=k))
                      for k in keys], axis=1)
  return targets, np.ones((len(labels_l), 3), np.float32)


def _preprocessed(images, data_config, batch):
  view = views.single_view(data_config, train=False)
  zero_seed = tf.zeros([2], tf.int64)
  ds = tf.data.Dataset.from_tensor_slices(images).map(
      lambda im: view({"image": im, "label": tf.constant(0, tf.int32)}, zero_seed)["image"])
  return ds.batch(batch).as_numpy_iterator()


def predict_pool(exp, state, images, s, *, dropout_passes=0, seed=0):
  """(N, 3, C) head probabilities in eval mode, or (K, N, 3, C) with dropout on."""
  variables = eval_variables(state)
  apply = jax.jit(lambda v, x: jax.nn.softmax(
      exp.model.apply(v, x, train=False).astype(jnp.float32), -1))
  apply_mc = jax.jit(lambda v, x, key: jax.nn.softmax(exp.model.apply(
      v, x, train=False, mc_dropout=True, rngs={"dropout": key}).astype(jnp.float32), -1))
  batches = list(_preprocessed(images, exp.config.data, s["predict_batch"]))
  if not dropout_passes:
    return np.concatenate([np.asarray(apply(variables, x)) for x in batches])
  base = jax.random.key(seed)
  return np.stack([
      np.concatenate([np.asarray(apply_mc(variables, x, jax.random.fold_in(base, k * 100_003 + i)))
                      for i, x in enumerate(batches)])
      for k in range(dropout_passes)])


def class_balanced_pseudo_labels(probs_j, probs_k, *, count: int, prior):
  """The same number of pseudo-labels as the threshold rule, chosen per class by the prior.

  Why: at a fixed confidence threshold the easy classes fill the pseudo-labeled set and the
  hard ones almost vanish (Fashion-MNIST, 400 labels, round 1 of a Tri-Net + Pi run: 155-178
  each of trousers, bags and ankle boots among 1,059 pseudo-labels, 29 coats, 3 shirts), so
  fine-tuning on it teaches the heads that the hard classes are rare.
  Co-training (Blum & Mitchell 1998) adds examples per class in the labeled data's
  proportions; this does that with Tri-Net's count: class c gets round(count * prior_c) of
  the examples on which heads j and k agree, the most confident first (confidence as in
  losses.agreement_pseudo_labels), or all of them if fewer agree. Not in the Tri-Net paper
  (trinet.class_balance switches it on; it runs between rounds, on numpy). Measured there
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


def pseudo_label_round(probs, mc_probs_fn, sigma_t, s, prior=None):
  """Per head v: (labels, keep mask over the pool) from heads j, h (agreement + DES).

  With `prior` (trinet.class_balance) the count the threshold rule keeps is redistributed
  over the classes in the prior's proportions (class_balanced_pseudo_labels) before DES.
  """
  out = []
  for v in range(3):
    j, h = [i for i in range(3) if i != v]
    labels, keep = losses.agreement_pseudo_labels(probs[:, j], probs[:, h], sigma=sigma_t)
    if prior is not None:
      labels, keep = class_balanced_pseudo_labels(probs[:, j], probs[:, h],
                                                  count=int(np.sum(keep)), prior=prior)
    out.append((np.asarray(labels), np.asarray(keep)))
  candidates = np.flatnonzero(np.any([keep for _, keep in out], axis=0))
  edited = []
  mc = mc_probs_fn(candidates) if len(candidates) and s["des_passes"] > 0 else None
  for v, (labels, keep) in enumerate(out):
    final = keep.copy()
    if mc is not None:
      j, h = [i for i in range(3) if i != v]
      preds = np.argmax(0.5 * (mc[:, :, j] + mc[:, :, h]), axis=-1)      # (K, n_cand)
      stable = np.asarray(losses.stable_under_dropout(
          preds, labels[candidates], max_unstable_fraction=s["des_max_unstable"]))
      final[candidates] &= stable
    edited.append((labels, keep, final))
  return edited


def _train(config, workdir, path, steps, start, restart_schedule):
  """One round: resume WORKDIR's checkpoint and train on `path` up to step `steps`; with
  restart_schedule (trinet.restart_schedule) the learning-rate schedule runs over this
  round's steps alone, from `start`."""
  cfg = copy.deepcopy(config)
  with cfg.unlocked():
    cfg.trinet.round_file = path
    cfg.num_train_steps = steps
    if restart_schedule:
      cfg.schedule_start_step = start
  return loop.train_and_evaluate(cfg, workdir)


def _log(workdir, record):
  if jax.process_index() == 0:
    paths.append_text(paths.join(workdir, "trinet_rounds.jsonl"), json.dumps(record) + "\n")
  print("trinet: " + json.dumps(record), flush=True)


def run_rounds(config, workdir: str) -> dict:
  """All of Tri-Net's rounds in WORKDIR (resumable); returns the final test metrics."""
  if not workdir:
    raise UserError("--workdir is required")
  s = settings(config)
  config = copy.deepcopy(config)
  with config.unlocked():
    if "semi" not in config:
      raise UserError("Tri-Net needs config.semi (labels_per_class, split_seed)")
    config.semi.audit_dir = workdir
  source = sources.get_source(config.data)
  labeled, unlabeled = semi.split_indices(source, config)
  images, hidden = semi.train_arrays(source)
  c = source.num_classes
  paths.makedirs(paths.join(workdir, "trinet"))
  path = round_path(workdir, 0)
  if not paths.exists(path):
    semi.write_round_file(path, labeled, *smeared_round(hidden[labeled], c, s, config.seed, 0))
    _log(workdir, {"round": 0, "kind": "init: output smearing", "labeled": len(labeled)})
  final = _train(config, workdir, path, s["init_steps"], 0, s["restart_schedule"])
  eye = np.eye(c, dtype=np.float32)
  for r, pool_size, fine_tune, sigma_t in schedule(s, len(unlabeled)):
    path = round_path(workdir, r)
    steps = s["init_steps"] + r * s["steps_per_round"]
    if not paths.exists(path):
      start = time.time()
      if fine_tune:
        semi.write_round_file(path, labeled,
                              *smeared_round(hidden[labeled], c, s, config.seed, r))
        _log(workdir, {"round": r, "kind": "diversity augmentation: output smearing on L"})
      else:
        pool = np.sort(np.random.default_rng([config.seed, r]).choice(
            unlabeled, pool_size, replace=False))
        cfg = copy.deepcopy(config)
        with cfg.unlocked():
          cfg.trinet.round_file = round_path(workdir, r - 1)
        exp, state = experiment.load_trained(cfg, workdir)
        probs = predict_pool(exp, state, images[pool], s)
        mc_fn = lambda idx: predict_pool(exp, state, images[pool[idx]], s,
                                         dropout_passes=s["des_passes"], seed=config.seed + r)
        prior = (np.bincount(hidden[labeled], minlength=c) / len(labeled)
                 if s["class_balance"] else None)  # the labeled set's own proportions
        heads = pseudo_label_round(probs, mc_fn, sigma_t, s, prior)
        chosen = np.flatnonzero(np.any([f for _, _, f in heads], axis=0))
        copies = labeled_repeats(len(labeled), len(chosen), s["labeled_share"])
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
        semi.write_round_file(path, np.concatenate(index), np.concatenate(targets),
                              np.concatenate(weights))
        record["seconds"] = round(time.time() - start, 1)
        _log(workdir, record)
    final = _train(config, workdir, path, steps, steps - s["steps_per_round"],
                   s["restart_schedule"])
  return final


def _acc(pred, truth):
  return round(float(np.mean(pred == truth)), 4) if len(truth) else None
