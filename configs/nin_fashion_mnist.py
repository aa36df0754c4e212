"""Network in Network (the authors' CIFAR-10 model) on Fashion-MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/nin_fashion_mnist.py --workdir runs/nin_fmnist

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured (only `:runlocal`
and 60-step checks ran: about 18 images/s on this project's shared 2-core CPU -- 192-wide
5x5 convolutions at full 32x32 resolution -- so near an hour an epoch and 5 hours for the 5 epochs;
test accuracy 0.26 after those 60 steps with Adam).

28x28 zero-padded to 32x32 (the net's CIFAR input), shifts of up to 2 pixels and flips;
batch 128, dropout 0.5 between mlpconv blocks (the paper's). Adam at 1e-3, cosine-decayed
over 5 epochs, is our choice: the paper gives no rates, and SGD with momentum at 0.05 left
the loss at 2.30 for 60 steps (the net has no BatchNorm).
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "nin"
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
  config.optimizer = "adam"
  config.learning_rate = 1e-3
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 500
  if arg == "runlocal":
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
