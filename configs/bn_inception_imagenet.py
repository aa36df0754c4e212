"""BN-Inception (Ioffe & Szegedy 2015), the BN-x30 network, on ImageNet.

  jaxvision train --config configs/bn_inception_imagenet.py --workdir runs/bn_inception_imagenet

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained with distributed SGD; not run here. Result: not measured here. The paper's
published number for BN-x30, ILSVRC-2012 validation, single crop: 74.8% top-1 accuracy
after 2.7M steps (Figure 3); its best single network: 25.2% top-1 / 7.82% top-5 error
(Table 3).

Recipe (sec. 4.2.1): GoogLeNet's training changed as the paper lists -- the learning rate
raised 30x (0.0015 -> 0.045), dropout removed, L2 weight decay 5x lower (4e-5: a fifth of
the 2e-4 of googlenet_imagenet.py; the paper gives no absolute value), the learning-rate
decay 6x faster (x0.96 every 8/6 epochs instead of 8), no LRN, SGD with
momentum 0.9, batch 32, 2.7M steps (67 epochs). Inception crops and flips. The paper also
shuffled "more thoroughly" and reduced photometric distortions, which this pipeline has
no counterpart for (it applies none).
"""

from jaxvision.config_defaults import (IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal,
                                       use_imagenet)

STEPS = 2_700_000
DECAY_EVERY_EPOCHS = 8 / 6


def get_config(arg=None):
  config = base_config()
  config.model.name = "bn_inception"
  use_imagenet(config)
  config.data.augment = ("random_resized_crop", "flip")
  config.batch_size = 32
  config.eval_batch_size = 256
  config.num_train_steps = STEPS
  config.optimizer = "sgd"
  config.learning_rate = 0.045
  config.momentum = 0.9
  config.weight_decay = 4e-5
  config.schedule = "step"  # x0.96 every 8/6 epochs
  decay_steps = DECAY_EVERY_EPOCHS * IMAGENET_TRAIN_IMAGES / config.batch_size
  config.lr_decay_at = tuple(k * decay_steps / STEPS
                             for k in range(1, int(STEPS / decay_steps) + 1))
  config.lr_decay_factor = 0.96
  config.log_every_steps = 200
  config.eval_every_steps = 100_000
  config.checkpoint_every_steps = 5000
  if arg == "runlocal":
    imagenet_runlocal(config)
  config.lock()
  return config
