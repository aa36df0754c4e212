"""Supervised-only baseline of the semi-supervised comparison: the 400 labeled Fashion-MNIST
images (40 per class, config.semi) and nothing else.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/supervised400_fashion_mnist.py --workdir runs/sup400_fmnist
  jaxvision train --config configs/supervised400_fashion_mnist.py:resnet14 --workdir runs/sup400_r14

Hardware: 2-core CPU shared with two training runs (load average ~5). With the 5,000-image
validation split (session 12; the labels drawn from the other 55,000): seed 0 test 0.7935
(validation 0.8024), :resnet14 0.8006 (validation 0.8084); :resnet14 seeds 1 and 2 (session
17, 2 min 35 s each alone): 0.7995 and 0.7985, mean over seeds 0-2 0.7995. Before it (all
60,000): test accuracy 0.7916 on the full 10,000-image test split (EMA weights; 0.7392 at step 500) in 3 min 40 s,
one seed (results/semi_compare/). Longer is not better here: 3000 steps with EMA 0.999 gave
0.7716 (the 400 images are fitted long before); with weight decay 0.2 (ten times this) 0.7910.

Same backbone (ResNet-8: the CIFAR ResNet with one block per stage, 75,002 parameters, at the
native 28x28), the same augmentation (random crop with 2-pixel padding, flip) and the same
labeled subset (semi.labels_per_class=40, semi.split_seed=0) as configs/trinet_fashion_mnist.py;
only the objective differs. With `:resnet14` (configs/supervised400_fashion_mnist.py:resnet14)
the trunk has two blocks per stage (ResNet-14, 172,218 parameters): the baseline of
configs/mixmatch_fashion_mnist.py, whose trunk that is (session 8, sharing the CPU,
4.2-4.5 min each): seeds 0/1/2 0.8021, 0.8004, 0.7958, mean 0.7994. AdamW as MixMatch (lr
0.002, decoupled weight decay 0.02 * lr per step), cosine-decayed, EMA 0.99 for evaluation.
"""

from jaxvision.config_defaults import base_config, semi_fashion_mnist
from jaxvision.errors import UserError


# The arguments this file takes besides `runlocal`.
VARIANTS = ("resnet14",)


def get_config(arg=None):
  args = set((arg or "").split(",")) - {""}
  if args - {"runlocal", *VARIANTS}:
    raise UserError(f"unknown argument {arg!r}; use runlocal, resnet14 or both (comma)")
  config = semi_fashion_mnist(base_config())
  config.model.name = "resnet20"
  config.model.stages = (2, 2, 2) if "resnet14" in args else (1, 1, 1)
  config.objective = "supervised_labeled"
  config.batch_size = 64
  config.eval_batch_size = 1000
  config.num_train_steps = 1000
  config.optimizer = "adamw"
  config.learning_rate = 0.002
  config.weight_decay = 0.02  # adamw decays by lr * wd, as MixMatch's config
  config.schedule = "cosine"
  config.ema_decay = 0.99
  config.log_every_steps = 50
  config.eval_every_steps = 500
  config.checkpoint_every_steps = 250
  if "runlocal" in args:
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
