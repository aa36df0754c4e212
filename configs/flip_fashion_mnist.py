"""Flip prediction (jaxvision/objectives/flip.py) pre-training of ResNet-20 on Fashion-MNIST.

  jaxvision train --config configs/flip_fashion_mnist.py --workdir runs/flip_fmnist
  jaxvision train --config configs/flip_fashion_mnist.py:3way --workdir runs/flip3_fmnist
  jaxvision train --config configs/flip_fashion_mnist.py:vertical --workdir runs/flipv_fmnist

Each image is shown as is, mirrored left-right, mirrored top-bottom and both (4-way; `:3way`
drops "both", `:vertical` keeps only as-is vs top-bottom, the flip every garment reveals),
and the encoder of configs/rotation_fashion_mnist.py (zoo CIFAR ResNet with stages (1, 1, 1),
64-d pooled features, 28x28 input) with a linear flip head learns to tell which. Evaluation: the "representation"
evaluator (linear probe and kNN of the frozen pooled features on the full test split).

Hardware: this project's 2-core CPU, shared with other jobs. Wall time: 27 min 53 s for the
whole run (compilation and the final probe included) under a load average of 10-15 from
other jobs; 20-29 images/s (80-116 views/s). Result (4-way, full test split): linear probe
0.7983, kNN 0.7580, against 0.7301 / 0.6404 for the same encoder at random initialisation
(results/pretext/README.md); training flip accuracy about 0.70 at the end, capped by the
left-right symmetric garments (per-class table there).

Recipe: the rotation config's, so the two differ only in the transformation: 28x28 images,
random shifts of up to 2 pixels but *no random mirroring* (it would make the horizontal class
unlearnable; the objective refuses data.augment 'flip'); SGD momentum 0.9, weight decay
5e-4 (RotNet's), rate 0.1 cosine-decayed over 300 steps of 64 images (256 views).
"""

import ml_collections

from jaxvision.config_defaults import base_config, variant_and_runlocal

FLIPS = {None: ("none", "horizontal", "vertical", "both"),
         "3way": ("none", "horizontal", "vertical"),
         "vertical": ("none", "vertical")}
VARIANTS = ("3way", "vertical")


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.objective = "flip"
  config.flip = ml_collections.ConfigDict({"flips": FLIPS[variant]})
  config.model = ml_collections.ConfigDict({"name": "flipnet", "encoder": "resnet20",
                                            "stages": (1, 1, 1),
                                            "flips": len(FLIPS[variant])})
  config.data.name = "fashion_mnist"
  config.data.image_size = 28
  config.data.resize = "none"
  config.data.augment = ("random_crop",)
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  # Linear probe and kNN settings of jaxvision/evaluate/representation.py (0: all 60,000).
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  config.batch_size = 64
  config.eval_batch_size = 1000
  config.num_train_steps = 300
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "cosine"
  config.log_every_steps = 10
  config.eval_every_steps = 100_000   # the probe reads all 70,000 images: only at the end
  config.checkpoint_every_steps = 50
  if runlocal:
    config.num_train_steps = 3
    config.log_every_steps = 1
    config.probe.max_train_examples = 2000
  config.lock()
  return config
