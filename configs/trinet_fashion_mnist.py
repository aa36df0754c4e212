"""Tri-Net (Chen, Wang, Gao, Zhou, IJCAI 2018) on Fashion-MNIST with 400 labels (40 per class).

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/trinet_fashion_mnist.py \
      --workdir runs/trinet_fmnist
  (the train loop runs every round as a phase: jaxvision/objectives/trinet.py)

Hardware: this 2-core CPU (no accelerator). Result with the 5,000-image validation split
(session 12, BUILD_NOTES.md; the 400 labels drawn from the other 55,000, md5 7ecb78ea... of
labeled_indices.json; seed 0; nothing chosen on these numbers): vote accuracy 0.8338 on the
full 10,000-image test split (validation 0.8418), +4.03 over its baseline rerun the same way
(supervised400_fashion_mnist.py: 0.7935): floor +3 MET. Validation after rounds 0-10: 0.8050
0.8176 0.8270 0.8288 0.8326 0.8324 0.8358 0.8344 0.8334 (round 8, smearing) 0.8410 0.8418
(93 min on a CPU shared with the test suite and another training run). Wall, alone on
this CPU (session 16): 17 min 28 s, the same pseudo-labels and test accuracy (0.8365) as
main the hour before in 34 min 44 s: the stability check's six dropout passes now share one
pass of the convolutions (objectives/trinet_rounds.pooled_features).
Before the validation split (all 60,000 training images; session 5): vote
accuracy 0.8269 on the full 10,000-image test split after round 10, one seed: +3.53 points
over the supervised baseline (0.7916), so the issue's floor (baseline + 3) is MET by 0.53.
Rounds 0-10: 0.7976, 0.8062, 0.8101, 0.8157, 0.8194,
0.8185, 0.8240, 0.8231, 0.8144 (round 8: output smearing on L, Tri-Net's diversity
augmentation), 0.8236, 0.8269 (60 min, a MixMatch run sharing the 2 cores). With
--config.seed=1, alone on this CPU: 0.8330 (+4.14) in 42.5 min. Pseudo-labels per head
(against the hidden labels, for the log only): 1.2k at 93% (round 1) growing to ~49k at 90%
(rounds 6-10, the whole unlabeled set as the pool); the dropout check removed none in any round.

What made the difference is trinet.labeled_share=0.5 (not in the paper; see
trinet_rounds.labeled_repeats): each round's set repeats L so it stays half of L + PL. With
the paper's plain union, L is soon 3% of the set and the pseudo-labels hold almost no shirts
(0-20 per head of up to 12k), so the heads' class prior drifts and the rounds gave back what
round 1 gained (4 rounds of 600 steps: 0.8036 final; every variant of sessions 3-4 -- Tri-Net +
Pi, class-balanced pseudo-labels, crop padding 4, two-stage heads, more diverse smearing --
ended between 0.7958 and 0.8049). With labeled_share 0.5 and the same 4 x 600 steps: 0.8114,
rising every round, so the schedule was run on until the pool is all of U and past one
diversity augmentation (10 rounds of 1000 steps). Cutout on the training views (FixMatch's
"noised student", data.augment + 'cutout') did not help (rounds 0-3: 0.7905 ... 0.7875).

The comparison's ResNet-8 trunk: stem + stages 1-2 shared (M_S), stage 3 + dropout + linear
classifier as each of the three heads. Tri-Net's schedule (sigma0 0.95, sigma_os 0.25,
sigma_decay 0.05, output smearing std 0.05, pool 1000 * 2^t up to |U|, diversity
augmentation every 4th round once the pool is |U| (round 8 here), K = 6 dropout passes with
at most 2 unstable): initialisation 1000 steps (the baseline's length), then rounds 1-10 of
1000 steps. AdamW (lr 0.002, weight decay as the baseline's) with a cosine decay over each
round's own steps (trinet.restart_schedule: each round resumes the previous checkpoint and
anneals again) and, as the baseline, an EMA of the weights (0.99) for evaluation and for the
predictions between rounds.
"""

import ml_collections

from jaxvision.config_defaults import base_config, semi_fashion_mnist


def get_config(arg=None):
  config = semi_fashion_mnist(base_config())
  config.model.name = "trinet_resnet8"
  config.model.dropout_rate = 0.3
  config.objective = "trinet"
  config.trinet = ml_collections.ConfigDict({
      "rounds": 10, "init_steps": 1000, "steps_per_round": 1000, "sigma0": 0.95,
      "sigma_os": 0.25, "sigma_decay": 0.05, "smear_std": 0.05, "pool_base": 1000,
      "fine_tune_every": 4, "des_passes": 6, "des_max_unstable": 1 / 3,
      "predict_batch": 1000, "restart_schedule": True,
      "pi_weight": 0.0, "pi_rampup_steps": 0, "class_balance": False,
      "labeled_share": 0.5})
  config.batch_size = 64
  config.eval_batch_size = 1000
  config.num_train_steps = 1000  # not read: the rounds (init + rounds x steps) set the length
  config.optimizer = "adamw"
  config.learning_rate = 0.002
  config.weight_decay = 0.02  # as the baseline's and MixMatch's configs
  config.schedule = "cosine"  # over each round's own steps (trinet.restart_schedule)
  config.ema_decay = 0.99  # as the baseline; predictions between rounds use the EMA too
  config.log_every_steps = 200
  config.eval_every_steps = 100_000  # the loop evaluates at the end of every round
  config.checkpoint_every_steps = 300
  if arg == "runlocal":
    config.trinet.rounds = 1
    config.trinet.init_steps = 10
    config.trinet.steps_per_round = 10
    config.trinet.pool_base = 100
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
