"""MixMatch (Berthelot et al. 2019) on CIFAR-10 with WRN-28-2: the paper's setting.

  jaxvision train --config configs/mixmatch_cifar10.py:4000 --workdir runs/mixmatch_c10_4000
  jaxvision train --config configs/mixmatch_cifar10.py:250 --workdir runs/mixmatch_c10_250
  (first time: --config.data.download=True, or TFDS's cifar10 prepared in --config.data.dir)

Hardware: written for one accelerator; NOT run here (2^20 steps). Expected result, from the
paper's Table: test error 11.08 +- 0.87 % with 250 labels and 6.24 +- 0.06 % with 4000 labels
(checked against a reproduction that quotes the table; the abstract says "from 38% to 11%"
at 250 labels).

The paper's hyperparameters: K=2 augmentations (flip + crop with 4-pixel reflection-free
padding here), T=0.5, alpha=0.75, lambda_u=75 ramped up linearly over the first 16,384
steps (16 "kimg" epochs of 1024 steps), Adam lr 0.002, weight decay 0.02 * lr = 4e-5 per step
(decoupled: adamw with weight_decay * lr; the PyTorch reference YU1ut/MixMatch-pytorch
multiplies the weights by 1 - 0.02 * lr each step), EMA decay 0.999 for evaluation, batch 64
labeled + 64 unlabeled, 1024 epochs of 1024 steps. Labels: 25 or 400 per class (arg 250 or
4000) chosen by semi.split_seed, balanced as the paper's splits.
"""

import ml_collections

from jaxvision.config_defaults import base_config
from jaxvision.errors import UserError


# The arguments this file takes besides `runlocal`: the number of labels (4,000 by default).
VARIANTS = ("4000", "250")


def get_config(arg=None):
  args = set((arg or "").split(",")) - {""}
  if args - {"runlocal", *VARIANTS}:
    raise UserError(f"unknown argument {arg!r}; use 4000 or 250, and/or runlocal (comma)")
  config = base_config()
  config.model.name = "wrn28_2"
  config.data.name = "tfds:cifar10"
  config.data.image_size = 32
  config.data.resize = "none"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 4
  config.data.mean = (0.4914, 0.4822, 0.4465)
  config.data.std = (0.2470, 0.2435, 0.2616)
  labels = 250 if "250" in args else 4000
  config.semi = ml_collections.ConfigDict({
      "labels_per_class": labels // 10, "split_seed": 0, "unlabeled_ratio": 1,
      "num_augment": 2, "audit_dir": ""})
  config.objective = "mixmatch"
  config.mixmatch = ml_collections.ConfigDict({
      "temperature": 0.5, "alpha": 0.75, "lambda_u": 75.0, "rampup_steps": 16384,
      "guess_updates_bn": True, "per_example_lambda": True,
      "distribution_alignment": False, "alignment_window": 128})
  config.batch_size = 64
  config.eval_batch_size = 1000
  config.num_train_steps = 1024 * 1024
  config.optimizer = "adamw"
  config.learning_rate = 0.002
  config.weight_decay = 0.02  # adamw: lr * wd = 4e-5 per step, the references'
  config.schedule = "constant"
  config.ema_decay = 0.999
  config.log_every_steps = 1024
  config.eval_every_steps = 65536
  config.checkpoint_every_steps = 8192
  if "runlocal" in args:
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
