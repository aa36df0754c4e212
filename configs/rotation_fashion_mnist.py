"""Rotation prediction (Gidaris et al. 2018) pre-training on Fashion-MNIST, laptop-sized.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/rotation_fashion_mnist.py --workdir runs/rotation_fmnist
  jaxvision eval  --config configs/rotation_fashion_mnist.py --workdir runs/rotation_fmnist
  python experiments/ssl_probe.py --config configs/rotation_fashion_mnist.py --mode random

Hardware: this project's 2-core CPU, shared with 4 other jobs (load average 8-14).
Result (seed 0, full train split -> 10,000 test images): linear probe 0.8139, kNN 0.7741;
the same encoder at its random initialisation 0.7301 / 0.6404 (experiments/ssl_probe.py
--mode random), so +8.4 probe points. Wall time: 25 min 40 s of training (the loaded CPU
ran at 10-24 images/s; about half that when idle), then 4 min 25 s for the evaluation.

The same encoder as configs/simclr_fashion_mnist.py (zoo CIFAR ResNet, stages (1, 1, 1),
64-d features, 28x28) with a linear 4-way rotation head; each step shows every image at
0/90/180/270 degrees (4 x 64 examples). RotNet's recipe (SGD, momentum 0.9, weight decay
5e-4, rate 0.1, batch 128 images) shortened to a few hundred steps with a cosine decay to
fit about 12 minutes of this CPU; the batch is 64 images (256 rotated) for more steps.
Augmentation: 2-pixel shifts and flips (a flip does not change which rotation it is).
"""

import ml_collections

from jaxvision.config_defaults import base_config, fashion_mnist_crop_flip


def get_config(arg=None):
  config = base_config()
  config.objective = "rotation"
  config.model = ml_collections.ConfigDict({"name": "rotnet", "encoder": "resnet20",
                                            "stages": (1, 1, 1)})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  fashion_mnist_crop_flip(config)
  config.batch_size = 64
  config.eval_batch_size = 1000
  config.num_train_steps = 300
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "cosine"
  config.log_every_steps = 10
  config.eval_every_steps = 100_000  # the representation evaluation runs at the end only
  config.checkpoint_every_steps = 50
  if arg == "runlocal":
    config.num_train_steps = 3
    config.log_every_steps = 1
    config.probe.max_train_examples = 2000
  config.lock()
  return config
