"""BAM-ResNet-20 (Park et al. 2018: BAM after stages 1 and 2) on Fashion-MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/bam_resnet20_fashion_mnist.py --workdir runs/bam_resnet20_fmnist

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured (only the
10-step `:runlocal` ran, at 80 images/s on this project's shared, busy 2-core CPU; expect
roughly ResNet-20's 10 minutes an epoch, about 2 hours for the 10 epochs).

He et al.'s CIFAR recipe (sec. 4.2) on 28x28 images zero-padded to 32x32: shifts of up to 2
pixels (the padding already added 2) and flips; SGD, batch 128, momentum 0.9, weight decay
1e-4, rate 0.1 -- cosine-decayed over 10 epochs instead of the 64k-iteration steps, to fit a
laptop. The same recipe in resnet20_, se_resnet20_ and bam_resnet20_fashion_mnist.py, so
the three differ only in the attention module.
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "bam_resnet20"
  config.data.name = "fashion_mnist"
  config.data.image_size = 32
  config.data.resize = "pad"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 10
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 500
  if arg == "runlocal":
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
