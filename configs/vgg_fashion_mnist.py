"""VGG-11 (configuration A) with BatchNorm, narrowed, on Fashion-MNIST, multi-scale training.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/vgg_fashion_mnist.py --workdir runs/vgg_fmnist
  jaxvision eval --config configs/vgg_fashion_mnist.py --workdir runs/vgg_fmnist --mode ten_crop

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured (only `:runlocal`
and an 80-step check ran: about 135 images/s on this project's shared 2-core CPU, so roughly
7 minutes an epoch, 75 for the 10 epochs; test accuracy 0.70 after those 80 steps).

VGG's recipe at 32x32: the shorter side rescaled to S drawn from [32, 40] per image
(the paper's [256, 512] shrunk less, since Fashion-MNIST objects fill the frame), a random
32x32 crop and a flip; SGD, momentum 0.9, weight decay 5e-4, dropout 0.5. Configuration A's
8 convolutions with a quarter of the widths (32-64-128-256-256) and fc6/fc7 512 wide, so it
fits a laptop, and with BatchNorm (vgg11_bn): without it, at the paper's rate 0.01 the loss
had not left 2.30 after 60 steps and at 0.05 it rose again (the paper itself started its
deep nets from the trained net A). Rate 0.05 cosine-decayed over 10 epochs. Evaluation `center`
resizes to 32 (S = 32); `ten_crop` crops the image at shorter side 36, the middle of [32, 40].
Dense evaluation does not apply at this size: pool5 is 1x1, below fc6's 7x7 window.
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "vgg11_bn"
  config.model.widths = (32, 64, 128, 256, 256)
  config.model.hidden = 512
  config.data.name = "fashion_mnist"
  config.data.image_size = 32
  config.data.resize = "bilinear"
  config.data.augment = ("multiscale", "flip")
  config.data.multiscale_min = 32
  config.data.multiscale_max = 40
  config.data.eval_resize = 36
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 10
  config.optimizer = "sgd"
  config.learning_rate = 0.05
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 500
  if arg == "runlocal":
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
