"""SE-ResNet-50 (Hu, Shen, Sun 2018, "Squeeze-and-Excitation Networks") on ImageNet.

  jaxvision train --config configs/se_resnet50_imagenet.py --workdir runs/se_resnet50_imagenet

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained on 8 servers of 8 GPUs; not run here. Result: not measured here. The paper's
published numbers, ILSVRC-2012 validation, single 224 centre crop: 23.29% top-1 / 6.62%
top-5 error (Table 2; its ResNet-50 re-implementation: 24.80% / 7.48%).

Recipe (sec. 6.1): SGD with momentum 0.9, batch 1024, learning rate 0.6 divided by 10 every
30 epochs, 100 epochs, reduction ratio 16; random-size crops and flips. Weight decay 1e-4
(the released Caffe models'; the section does not state it). The paper's data balancing
strategy has no counterpart here.
"""

from jaxvision.config_defaults import base_config

TRAIN_IMAGES = 1_281_167


def get_config(arg=None):
  config = base_config()
  config.model.name = "se_resnet50"
  config.data.name = "tfds:imagenet2012"
  config.data.image_size = 224
  config.data.resize = "center_crop"
  config.data.augment = ("random_resized_crop", "flip")
  config.data.mean = (0.485, 0.456, 0.406)
  config.data.std = (0.229, 0.224, 0.225)
  config.batch_size = 1024
  config.eval_batch_size = 512
  config.num_epochs = 100
  config.optimizer = "sgd"
  config.learning_rate = 0.6
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "step"
  config.lr_decay_at = (0.3, 0.6, 0.9)
  config.lr_decay_factor = 0.1
  steps_per_epoch = TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":  # needs the prepared dataset; the final eval still reads all 50,000
    config.batch_size = 16
    config.eval_batch_size = 16
    config.num_train_steps = 2
    config.log_every_steps = 1
  config.lock()
  return config
