"""Wide ResNet 28-2 (Zagoruyko & Komodakis 2016; the semi-supervised papers' net) on Fashion-MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/wrn28_2_fashion_mnist.py --workdir runs/wrn28_2_fmnist

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured (only `:runlocal`
and a 30-step check ran: about 19 images/s on this project's shared 2-core CPU, so near an
hour an epoch and 4-5 hours for the 5 epochs; the training loss fell from 2.3 to 1.08 in
those 30 steps). BatchNorm momentum is 0.999 here (the SSL papers'): the running statistics
that evaluation uses need a few thousand steps, so an early evaluation is meaningless.

The WRN paper's CIFAR optimiser: SGD with Nesterov momentum 0.9, batch 128, weight decay
5e-4, rate 0.1 -- cosine-decayed over 5 epochs instead of its 200-epoch steps, to fit a
laptop (WRN-28-2 costs about 9x ResNet-20 per image). 28x28 zero-padded to 32x32, shifts of
up to 2 pixels and flips.
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "wrn28_2"
  config.data.name = "fashion_mnist"
  config.data.image_size = 32
  config.data.resize = "pad"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 5
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 500
  if arg == "runlocal":
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
