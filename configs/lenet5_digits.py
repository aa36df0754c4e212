"""LeNet-5 (1998) on scikit-learn's 8x8 digits, upsampled to 32x32. The README quick start.

  jaxvision train --config configs/lenet5_digits.py --workdir runs/lenet5_digits

Hardware: 2-core laptop CPU. Wall time and test accuracy (360 held-out digits): see
BUILD_NOTES.md (measured: about 0.98 in well under 2 minutes).
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "lenet5"
  config.data.name = "digits"
  config.data.image_size = 32
  config.data.resize = "bilinear"
  # Shifts of up to 3 pixels (of 32): the 1,437 training digits are too few to go without.
  config.data.augment = ("random_crop",)
  config.data.crop_padding = 3
  config.batch_size = 32
  config.eval_batch_size = 360
  config.num_epochs = 30
  config.optimizer = "adam"
  config.learning_rate = 2e-3
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 500
  config.checkpoint_every_steps = 500
  if arg == "runlocal":  # a few seconds, for smoke tests
    config.num_epochs = 1
  config.lock()
  return config
