"""MAE (He et al. 2022) pre-training of a small ViT on Fashion-MNIST, laptop size.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/mae_fashion_mnist.py --workdir runs/mae_fmnist
  jaxvision eval --config configs/mae_fashion_mnist.py --workdir runs/mae_fmnist
  python experiments/ssl_probe.py --config configs/mae_fashion_mnist.py --mode random

Hardware: 2-core laptop CPU shared with other jobs. Result: see BUILD_NOTES.md (linear probe
and kNN on the full test split, against the same probe on the randomly initialised encoder).

Model: mae_vit_mini -- a 96-d, 4-block, 4-head ViT encoder on the 28x28 images cut into
7x7 patches of 4x4 pixels (49 patches, 12 visible at the paper's 75% mask ratio), and a
64-d 2-block decoder. The paper's recipe scaled down: AdamW, weight decay 0.05, cosine
schedule with linear warm-up, normalised-pixel targets; the learning rate is raised (1.5e-3
at batch 256, i.e. blr 1.5e-3, ten times the paper's 1.5e-4) because the schedule is about
four epochs instead of 800. Augmentation: flips only; MAE's random_resized_crop(0.2, 1) is
not available (data.augment's random_resized_crop has the fixed Inception scale 0.08-1,
too aggressive at 28x28). Probe features: the mean of the patch tokens (pooling 'mean');
`--config.model.pooling=cls` probes the class token as the paper does.
"""

import ml_collections

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model = ml_collections.ConfigDict({
      "name": "mae_vit_mini", "image_size": 28, "patch_size": 4, "channels": 1,
      "pooling": "mean"})
  config.objective = "mae"
  config.mae = ml_collections.ConfigDict({"mask_ratio": 0.75, "norm_pix_loss": True})
  # Linear probe and kNN settings of jaxvision/evaluate/representation.py (0: all 60,000).
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  config.data.name = "fashion_mnist"
  config.data.image_size = 28
  config.data.resize = "none"
  config.data.augment = ("flip",)
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_train_steps = 600
  config.optimizer = "adamw"
  config.learning_rate = 1.5e-3
  config.weight_decay = 0.05
  config.schedule = "cosine"
  config.warmup_steps = 30  # 5% of training (the paper: 40 of 800 epochs)
  config.log_every_steps = 50
  config.eval_every_steps = 100_000  # the probe runs once, at the end
  config.checkpoint_every_steps = 200
  if arg == "runlocal":
    config.num_train_steps = 5
    config.log_every_steps = 1
    config.probe.max_train_examples = 2000
  config.lock()
  return config
