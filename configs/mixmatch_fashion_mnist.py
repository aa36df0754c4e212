"""MixMatch (Berthelot et al. 2019) on Fashion-MNIST with 400 labels (40 per class); the other
59,600 training images are unlabeled. Guesses distribution-aligned as in ReMixMatch (below).

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/mixmatch_fashion_mnist.py --workdir runs/mixmatch_fmnist
  jaxvision train --config configs/mixmatch_fashion_mnist.py:long --workdir runs/mixmatch_long

Hardware: this 2-core CPU, one device. 4,000 steps (the default since session 17), seed 0,
alone: **15 min 36 s** end to end, validation 0.3542 / 0.7822 / 0.8522 / 0.8604 at steps
1000 / 2000 / 3000 / 4000 (the EMA of the weights is still warming at 1000), test once at
the end **0.8585**, +5.79 over its baseline's 0.8006 (supervised400_fashion_mnist.py:resnet14,
same split and labels); seeds 1 and 2: test 0.8455 and 0.8527 (validation 0.8468, 0.8572),
against 0.7995 and 0.7985 for the baseline: the mean 0.8522 is **+5.27** over the baseline's
mean 0.7995, so the +5 floor holds over three seeds; 14 min 35 s alone (seed 2) once the
process kept one malloc arena. The schedule was chosen on the validation split by a rule fixed
before the run (BUILD_NOTES, session 17): the step is bound by its convolutions (13.2 GFLOP,
already 100-160 GFLOP/s on these two cores), so a run twice as fast as the 10,000-step
recipe's 33.7 min needed fewer steps; the lambda_u ramp stays at 2,500 steps (a 1,000-step
ramp lost 5.8 points, session 7).
`:long` is the 10,000-step recipe the numbers below were measured with. With the 5,000-image
validation split (session 12; the 400 labels drawn from the other 55,000), seed 0 at one
device, alone: 61 min on session 13's code, validation 0.7066 / 0.8598 / 0.8610 / 0.8688 at
steps 2500 / 5000 / 7500 / 10000, test once **0.8663** (+6.57); 37.5 min on session 16's code
(XLA's Eigen convolutions, freed memory kept), validation 0.8290 / 0.8630 / 0.8666 / 0.8648,
test 0.8606 (+6.00). More simulated devices (`--cpu-devices 4`) no longer pay on two cores
(1.08x, session 16) and XLA:CPU can deadlock in this step's all-to-all with them (session 12).
The numbers below (`:long`) predate the split (the recipe was chosen on test then).
Trunk: ResNet-14 (the CIFAR ResNet with two blocks per stage, 172,218 parameters) since
session 8; its supervised baseline is configs/supervised400_fashion_mnist.py:resnet14 (seeds
0/1/2: 0.8021, 0.8004, 0.7958, mean 0.7994). Result (BUILD_NOTES.md, sessions 8 and 9) on
the full 10,000-image test split, test accuracy at steps 2500 / 5000 / 7500 and the end:
seed 0 0.7971 / 0.8470 / 0.8484 / 0.8604, seed 1 0.7802 / 0.8386 / 0.8400 / 0.8409, seed 2
0.7739 / 0.8355 / 0.8373 / 0.8448: mean 0.8487, +4.93 points over the baseline's mean, so
the issue's +5 floor is missed by 0.07 (the seeds alone: +6.10, +4.15, +4.54).
Wall: 33 min 39 s alone end to end (seed 1, session 9); ResNet-20 (stages (3, 3, 3)) would
take about 47 min (1.4x the step cost, timed over 600 steps): over the 45-minute budget.
With the earlier ResNet-8 trunk (--config.model.stages="(1,1,1)",
baseline supervised400_fashion_mnist.py, mean 0.7941), seeds 0/1/2 gave 0.8462, 0.8317,
0.8301 (mean 0.8360, +4.19) in 24.1 min alone at one device: the +5 floor missed on the mean
by 0.8, and at matched seeds ResNet-14 is ahead by 1.4 (seed 0) and 1.5 (seed 2).
Without the alignment (mixmatch.distribution_alignment=False, the MixMatch paper's recipe),
ResNet-8 seeds 0 and 1: 0.8397 and 0.8242, i.e. alignment adds 0.65 and 0.75 points at the
same seeds. Other ResNet-8 variants (BUILD_NOTES.md, sessions 3-8): 13,000 steps 0.8404,
lambda_u 100 0.8353, crop padding 4 0.8285, one MixUp lambda per row as the authors' code
draws it (mixmatch.per_example_lambda=True, the objective's default) 0.8261, lambda_u ramp
over 5,000 steps (mean of three seeds 0.8385), twice the unlabeled images per step
(semi.unlabeled_ratio=2, seeds 1/2: 0.8320, 0.8377). This config keeps the lambda drawn once
per batch (YU1ut's) that its numbers were measured with. ResNet-14 is 12% of WRN-28-2, and
4,000 steps of 32 unlabeled images see each unlabeled image about twice (10,000: about 5
times; the paper's 2^20 steps of 64: about 1,300 times).

The paper's recipe (K=2, T=0.5, alpha=0.75, lambda_u=75, Adam lr 0.002, weight decay
0.02 * lr per step as the PyTorch reference applies it, EMA of the weights for evaluation)
on ResNet-14 at 28x28, shrunk to a laptop: batch 32 labeled + 32 unlabeled
(x2 views), lambda_u ramped over the first 2,500 steps instead of 16,384, a cosine decay of
the rate (the paper's constant rate is for its 2^20 steps; with 1% of them annealing is
worth several points), EMA decay 0.999. Added from ReMixMatch (Berthelot et al. 2020, sec.
3.2): distribution alignment, each averaged guess times uniform / (the model's mean prediction
over the last 128 unlabeled batches), renormalised, before sharpening: the guesses of a model
that under-predicts shirts are pulled back to the balanced prior. Batch norm: the guess's
clean views and then the mixed batch update the running averages (see
jaxvision/objectives/mixmatch.py).
"""

import ml_collections

from jaxvision.config_defaults import base_config, semi_fashion_mnist
from jaxvision.errors import UserError


# The arguments this file takes besides `runlocal`.
VARIANTS = ("long",)


def get_config(arg=None):
  args = set((arg or "").split(",")) - {""}
  if args - {"runlocal", *VARIANTS}:
    raise UserError(f"unknown argument {arg!r}; use runlocal, long or both (comma)")
  config = semi_fashion_mnist(base_config())
  config.model.name = "resnet20"
  config.model.stages = (2, 2, 2)  # ResNet-14: +1.4 points over ResNet-8 at matched seeds
  config.objective = "mixmatch"
  config.mixmatch = ml_collections.ConfigDict({
      "temperature": 0.5, "alpha": 0.75, "lambda_u": 75.0, "rampup_steps": 2500,
      "guess_updates_bn": True, "per_example_lambda": False,
      "distribution_alignment": True, "alignment_window": 128})
  config.batch_size = 32
  config.eval_batch_size = 1000
  # 4,000 steps: chosen on the validation split for a run twice as fast (docstring);
  # `:long` is the 10,000-step recipe.
  config.num_train_steps = 10000 if "long" in args else 4000
  config.optimizer = "adamw"
  config.learning_rate = 0.002
  config.weight_decay = 0.02  # adamw decays by lr * wd: 4e-5 per step at the start (the reference's)
  config.schedule = "cosine"  # see the docstring: the paper's constant rate needs its 2^20 steps
  config.ema_decay = 0.999
  config.log_every_steps = 200
  config.eval_every_steps = 2500 if "long" in args else 1000
  config.checkpoint_every_steps = 1000
  if "runlocal" in args:
    config.num_train_steps = 10
    config.mixmatch.rampup_steps = 5
    config.log_every_steps = 5
  config.lock()
  return config
