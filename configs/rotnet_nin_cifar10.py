"""RotNet (Gidaris, Singh, Komodakis 2018): rotation prediction with NiN on CIFAR-10.

  jaxvision train --config configs/rotnet_nin_cifar10.py --workdir runs/rotnet_nin_c10
  jaxvision eval  --config configs/rotnet_nin_cifar10.py --workdir runs/rotnet_nin_c10

Data: TFDS cifar10 in --config.data.dir, or --config.data.download=True once. Hardware: a
single GPU; not run here. Result: not measured here. The paper's CIFAR-10 numbers are for
classifiers on intermediate blocks of a 4-block NiN (best: the second block's feature maps,
89.06% with a non-linear classifier, Table 1); this config probes the pooled output of
the zoo's 3-block NiN linearly, so it is not comparable to them.

The paper's recipe (sec. 3.1): SGD, batch 128, momentum 0.9, weight decay 5e-4, rate 0.1
divided by 5 after epochs 30, 60 and 80, 100 epochs; all four rotations of every image in
the same batch (4 x 128 examples). The released code (config/CIFAR10_RotNet_NIN4blocks.py)
trains twice as long (200 epochs, drops at 60/120/160) with Nesterov momentum. Our NiN:
the zoo's 3-block CIFAR model up to block3_cccp1 (192 maps, global average pooled, its
per-class block3_cccp2 left out) with a linear 4-way head; no augmentation besides the
rotations (RotNet used none on CIFAR).
"""

import ml_collections

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.objective = "rotation"
  config.model = ml_collections.ConfigDict({"name": "rotnet", "encoder": "nin"})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  config.data.name = "tfds:cifar10"
  config.data.image_size = 32
  config.data.resize = "none"
  config.data.augment = ()
  config.data.mean = (0.4914, 0.4822, 0.4465)
  config.data.std = (0.2470, 0.2435, 0.2616)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 100
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "step"
  config.lr_decay_at = (0.3, 0.6, 0.8)  # epochs 30, 60, 80 of 100
  config.lr_decay_factor = 0.2
  config.log_every_steps = 100
  config.eval_every_steps = 20_000
  config.checkpoint_every_steps = 2000
  if arg == "runlocal":  # needs the prepared dataset
    config.num_train_steps = 2
    config.log_every_steps = 1
    config.probe.max_train_examples = 1000
  config.lock()
  return config
