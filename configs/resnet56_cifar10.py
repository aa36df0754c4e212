"""ResNet-56 on CIFAR-10 with He et al.'s recipe (2016, sec. 4.2).

  jaxvision train --config configs/resnet56_cifar10.py --workdir runs/resnet56_cifar10

Data: TFDS cifar10 in --config.data.dir, or --config.data.download=True once. Hardware: a
single GPU does it in a few hours; not run here. Result: not measured here. The paper's
published number: 6.97% test error (Table 6; the mean over runs is not given for 56).

Recipe: SGD, batch 128, momentum 0.9, weight decay 1e-4, learning rate 0.1 divided by 10 at
32k and 48k iterations, stopped at 64k; 4 pixels of zero padding, a random 32x32 crop and a
horizontal flip; option A (parameter-free) shortcuts. The paper subtracts the per-pixel
mean; here the per-channel mean and standard deviation. The paper determined the schedule
on a 45k/5k train/val split; here all 50k images train.
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "resnet56"
  config.data.name = "tfds:cifar10"
  config.data.image_size = 32
  config.data.resize = "none"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 4
  config.data.mean = (0.4914, 0.4822, 0.4465)
  config.data.std = (0.2470, 0.2435, 0.2616)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_train_steps = 64_000
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "step"
  config.lr_decay_at = (32_000 / 64_000, 48_000 / 64_000)
  config.lr_decay_factor = 0.1
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 2000
  if arg == "runlocal":  # needs the prepared dataset
    config.num_train_steps = 5
    config.log_every_steps = 1
  config.lock()
  return config
