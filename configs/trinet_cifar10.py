"""Tri-Net (Chen, Wang, Gao, Zhou, IJCAI 2018) on CIFAR-10 with 4000 labels.

  jaxvision train --config configs/trinet_cifar10.py \
      --workdir runs/trinet_c10_4000
  jaxvision train --config configs/trinet_cifar10.py:cnn13 \
      --workdir runs/trinet_c10_cnn13
  (the train loop runs every round as a phase; first time:
  --config.data.download=True or TFDS's cifar10 prepared in --config.data.dir)

Hardware: written for one accelerator; NOT run here. Expected result: 8.30 % test error with
4000 labels (the paper's abstract, its best CIFAR-10 number; whether that row is tri-net alone
or tri-net combined with the Pi-model, --config.trinet.pi_weight, could not be checked
here). The paper's network for CIFAR-10 is a 13-layer CNN split into a shared module and
three modules; by default here the trunk is ResNet-20's (stages 1-2 shared, stage 3 per
head), so the number is a target, not a claim. `:cnn13` (also `:cnn13,runlocal`) uses the
13-layer CNN (model trinet_cnn13; its split into M_S and the heads is ours, see there).

The pool N_t = 1000 * 2^t (up to |U|), T = 30 rounds and lowering sigma only once N_t = |U|
are the paper's own (its "Parameters" paragraph, as a third-party page quotes it;
BUILD_NOTES.md session 10, #25). The rest of Tri-Net's schedule is as ModSSC's
reimplementation reads the paper (its text beyond that could not be read here): sigma0 0.95,
sigma_os 0.25 (threshold lowered in the round after output smearing), sigma_decay 0.05 at each
diversity-augmentation round (every 4th round once the pool is all of U), output smearing std
0.05, K = 6 dropout passes with at most 2 unstable.
"""

import ml_collections

from jaxvision.config_defaults import base_config
from jaxvision.errors import UserError

VARIANTS = ("cnn13",)  # the paper's 13-layer CNN (model trinet_cnn13)


def get_config(arg=None):
  parts = set((arg or "").split(",")) - {""}
  if parts - {"runlocal", *VARIANTS} or len(parts & set(VARIANTS)) > 1:
    raise UserError(f"unknown argument {arg!r}; use one of {', '.join(VARIANTS)} "
                    "and/or runlocal (comma-separated)")
  config = base_config()
  if "cnn13" in parts:  # the paper's 13-layer CNN (see jaxvision/models/trinet.py)
    config.model.name = "trinet_cnn13"
    config.model.dropout_rate = 0.5
  else:
    config.model.name = "trinet_resnet20"
    config.model.dropout_rate = 0.3
  config.data.name = "tfds:cifar10"
  config.data.image_size = 32
  config.data.resize = "none"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 4
  config.data.mean = (0.4914, 0.4822, 0.4465)
  config.data.std = (0.2470, 0.2435, 0.2616)
  config.semi = ml_collections.ConfigDict({
      "labels_per_class": 400, "split_seed": 0, "unlabeled_ratio": 1, "num_augment": 2,
      "audit_dir": ""})
  config.objective = "trinet"
  config.trinet = ml_collections.ConfigDict({
      "rounds": 30, "init_steps": 40_000, "steps_per_round": 5_000, "sigma0": 0.95,
      "sigma_os": 0.25, "sigma_decay": 0.05, "smear_std": 0.05, "pool_base": 1000,
      "fine_tune_every": 4, "des_passes": 6, "des_max_unstable": 1 / 3,
      "predict_batch": 1000, "restart_schedule": False,
      "pi_weight": 0.0, "pi_rampup_steps": 0, "class_balance": False, "labeled_share": 0.0})
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_train_steps = 40_000  # not read: the rounds (init + rounds x steps) set the length
  config.optimizer = "sgd"
  config.learning_rate = 0.05
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.schedule = "constant"
  config.log_every_steps = 500
  config.eval_every_steps = 1_000_000
  config.checkpoint_every_steps = 5_000
  if "runlocal" in parts:
    config.trinet.rounds = 1
    config.trinet.init_steps = 10
    config.trinet.steps_per_round = 10
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
