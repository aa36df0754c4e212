"""GoogLeNet (torchvision layout, with its two auxiliary heads) on Fashion-MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/googlenet_fashion_mnist.py --workdir runs/googlenet_fmnist

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured (only `:runlocal`
and a 30-step check ran: 30-50 images/s on this project's shared, busy 2-core CPU, so
20-35 minutes an epoch and 2-3 hours for the 5 epochs; the training loss, auxiliary losses
included, fell from 3.9 to 1.8 in those 30 steps).

28x28 resized to 64x64: the smallest input at which the auxiliary heads (after 4a and 4d)
see the 4x4 map their pooling expects, as a 224 input gives them 14x14 -> 4x4. Shifts of up
to 8 pixels and flips (Inception crops would cut away most of a garment that fills the
frame); auxiliary losses weighted 0.3 (the paper's); SGD, momentum 0.9, weight decay 1e-4,
rate 0.1 cosine-decayed over 5 epochs (BatchNorm, as torchvision's layout has it).
"""

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.model.name = "googlenet"
  config.data.name = "fashion_mnist"
  config.data.image_size = 64
  config.data.resize = "bilinear"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 8
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 5
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.aux_loss_weight = 0.3
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 500
  if arg == "runlocal":
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
