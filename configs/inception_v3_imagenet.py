"""Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture") on ImageNet.

  jaxvision train --config configs/inception_v3_imagenet.py --workdir runs/inception_v3

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained on 50 replicas (NVidia Kepler GPUs); not run here. Result: not measured here.
The paper's published numbers, single model, single 299x299 crop, ILSVRC-2012 validation:
21.2% top-1 / 5.6% top-5 error (Table 3, "Inception-v3").

Recipe (sec. 7-8): RMSProp with decay 0.9 and epsilon 1.0 (jaxvision's rmsprop has exactly
these; momentum 0.9 is TF-Slim's), learning rate 0.045 decayed x0.94 every two epochs, 100
epochs, batch 32 on each of 50 replicas (1,600), label smoothing 0.1, the auxiliary
classifier on (its loss weight, 0.4, is TF-Slim's; the paper gives none). Gradient clipping
at 2.0 and the moving average of parameters have no counterpart here. 299 crops; evaluation
shorter side 342 (299 / 0.875), centre 299. Inputs scaled to [-1, 1] as Google's models are.
"""

from jaxvision.config_defaults import IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal

EPOCHS = 100


def get_config(arg=None):
  config = base_config()
  config.model.name = "inception_v3"
  config.data.name = "tfds:imagenet2012"
  config.data.image_size = 299
  config.data.resize = "center_crop"
  config.data.augment = ("random_resized_crop", "flip")
  config.data.eval_resize = 342       # ten_crop / dense: 299 / 0.875, as the centre view
  config.data.mean = (0.5, 0.5, 0.5)
  config.data.std = (0.5, 0.5, 0.5)
  config.batch_size = 32 * 50
  config.eval_batch_size = 400
  config.num_epochs = EPOCHS
  config.optimizer = "rmsprop"
  config.learning_rate = 0.045
  config.momentum = 0.9
  config.label_smoothing = 0.1
  config.aux_loss_weight = 0.4
  config.schedule = "step"  # x0.94 every 2 epochs
  config.lr_decay_at = tuple(e / EPOCHS for e in range(2, EPOCHS, 2))
  config.lr_decay_factor = 0.94
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 2 * steps_per_epoch
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":
    imagenet_runlocal(config)
  config.lock()
  return config
