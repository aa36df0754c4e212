"""MixMatch (Berthelot et al. 2019) on Fashion-MNIST with 400 labels (40 per class); the other
59,600 training images are unlabeled.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/mixmatch_fashion_mnist.py --workdir runs/mixmatch_fmnist

Hardware: this 2-core CPU, alone but for a few short test runs and a pip install. Result:
test accuracy 0.8397 on the full 10,000-image test split (0.7958 at step 2500, 0.8057 at
5000, 0.8343 at 7500) in 28.6 minutes (6.2 steps/s), one seed: +4.81 points over the
supervised baseline (0.7916), so the issue's floor (baseline + 5) is MISSED by 0.19 points.
Shorter runs of the same recipe: 8000 steps 0.8375, 6000 steps (guess BN discarded) 0.8353
(results/semi_compare/); 13,000 steps 0.8404, lambda_u 100 0.8353, crop padding 4 0.8285
(BUILD_NOTES.md, sessions 3-4). Session 5: the same recipe with one MixUp lambda per row, as
the authors' code draws it (mixmatch.per_example_lambda=True, the objective's default),
0.8261; widths (32, 64, 128) (WRN-28-2's, 297,450 params) for 5000 steps, 0.8265; and
session 4's log of this config with seed 1 (results/semi_compare/session4/mixmatch_seed1_*;
its command was not written down), 0.8242: so +4.81 is the best of runs that spread over
3.3-4.9 points, not a typical one. This config keeps the lambda drawn once per
batch (YU1ut's) that its numbers were measured with. The mixed labeled loss is still ~0.7
at the end (the supervised
baseline fits its 400 images to ~0.06): ResNet-8 is 5% of WRN-28-2 and 10,000 steps are 1%
of the paper's 2^20.

The paper's recipe (K=2, T=0.5, alpha=0.75, lambda_u=75, Adam lr 0.002, weight decay
0.02 * lr per step as the PyTorch reference applies it, EMA of the weights for evaluation)
on the comparison's ResNet-8 at 28x28, shrunk to a laptop: batch 32 labeled + 32 unlabeled
(x2 views), lambda_u ramped over the first 2,500 steps instead of 16,384, a cosine decay of
the rate (the paper's constant rate is for its 2^20 steps; with 1% of them annealing is
worth several points), EMA decay 0.999. Batch norm: the guess's clean views and then the
mixed batch update the running averages (see jaxvision/objectives/mixmatch.py).
"""

import ml_collections

from jaxvision.config_defaults import base_config


def semi_data(config, labels_per_class=40):
  """The data settings the three runs of the comparison share (repeated in each file)."""
  config.data.name = "fashion_mnist"
  config.data.image_size = 28
  config.data.resize = "none"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.semi = ml_collections.ConfigDict({
      "labels_per_class": labels_per_class, "split_seed": 0, "unlabeled_ratio": 1,
      "num_augment": 2, "audit_dir": ""})
  return config


def get_config(arg=None):
  config = semi_data(base_config())
  config.model.name = "resnet20"
  config.model.stages = (1, 1, 1)
  config.objective = "mixmatch"
  config.mixmatch = ml_collections.ConfigDict({
      "temperature": 0.5, "alpha": 0.75, "lambda_u": 75.0, "rampup_steps": 2500,
      "guess_updates_bn": True, "per_example_lambda": False,
      "distribution_alignment": False, "alignment_window": 128})
  config.batch_size = 32
  config.eval_batch_size = 1000
  config.num_train_steps = 10000
  config.optimizer = "adamw"
  config.learning_rate = 0.002
  config.weight_decay = 0.02  # adamw decays by lr * wd: 4e-5 per step at the start (the reference's)
  config.schedule = "cosine"  # see the docstring: the paper's constant rate needs its 2^20 steps
  config.ema_decay = 0.999
  config.log_every_steps = 200
  config.eval_every_steps = 2500
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":
    config.num_train_steps = 10
    config.mixmatch.rampup_steps = 5
    config.log_every_steps = 5
  config.lock()
  return config
