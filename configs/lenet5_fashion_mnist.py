"""LeNet-5 (1998) on Fashion-MNIST, 28x28 zero-padded to 32x32 as the paper did for MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/lenet5_fashion_mnist.py --workdir runs/lenet5_fmnist

Hardware: 2-core laptop CPU. Wall time and test accuracy on the 10,000 test images: see
BUILD_NOTES.md.
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "lenet5"
  config.data.name = "fashion_mnist"
  config.data.image_size = 32
  config.data.resize = "pad"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 15
  config.optimizer = "adam"
  config.learning_rate = 2e-3
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":
    config.num_train_steps = 50
  config.lock()
  return config
