"""Flip prediction (jaxvision/objectives/flip.py) pre-training of ResNet-50 on ImageNet.

  jaxvision train --config configs/flip_imagenet.py --workdir runs/flip_in
  jaxvision eval  --config configs/flip_imagenet.py --workdir runs/flip_in

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: any
accelerator host (RotNet trained AlexNet on GPUs); not run here. Result: not measured here, and no published
ImageNet number for flip prediction is known to this repository.

The rotation-prediction recipe of Gidaris et al. (2018) with flips in place of rotations:
every image shown in all four flips in the same step (none, left-right, top-bottom, both),
a linear head on the pooled features. On natural images the left-right mirror of a scene
is as natural as the scene itself (that is why it is the standard augmentation), so the
"horizontal" class is learnable only from text, handed objects and other rare cues and its
accuracy stays near chance; top-bottom flips (sky above, ground below) carry the signal.
`--config.flip.flips="('none','vertical')" --config.model.flips=2` trains only on that.
No random mirroring in the augmentation (the objective refuses it).

Recipe: RotNet's released ImageNet config (gidariss/FeatureLearningRotNet,
config/ImageNet_RotNet_AlexNet.py): batch 192 images (768 views), random-sized crops, 50
epochs, SGD with Nesterov momentum 0.9, weight decay 5e-4, rate 0.01 divided by 10 after
epochs 15, 30 and 45 (its LUT_lr). Evaluation view: shorter side 256, centre 224.
"""

import ml_collections

from jaxvision.config_defaults import base_config, use_imagenet


def get_config(arg=None):
  config = base_config()
  config.objective = "flip"
  config.flip = ml_collections.ConfigDict({"flips": ("none", "horizontal", "vertical", "both")})
  config.model = ml_collections.ConfigDict({"name": "flipnet", "encoder": "resnet50",
                                            "flips": 4})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  use_imagenet(config)
  config.data.augment = ("random_resized_crop",)
  config.batch_size = 192
  config.eval_batch_size = 256
  config.num_epochs = 50
  config.optimizer = "sgd"
  config.learning_rate = 0.01
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.schedule = "step"
  config.lr_decay_at = (15 / 50, 30 / 50, 45 / 50)
  config.lr_decay_factor = 0.1
  config.log_every_steps = 100
  config.eval_every_steps = 50_000
  config.checkpoint_every_steps = 5000
  if arg == "runlocal":
    config.num_train_steps = 5
    config.batch_size = 8
    config.eval_batch_size = 8
    config.log_every_steps = 1
    config.probe.max_train_examples = 256
  config.lock()
  return config
