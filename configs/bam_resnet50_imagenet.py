"""BAM-ResNet-50 (Park, Woo, Lee, Kweon 2018, "BAM: Bottleneck Attention Module") on ImageNet.

  jaxvision train --config configs/bam_resnet50_imagenet.py --workdir runs/bam_resnet50_imagenet

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: not run
here. Result: not measured here. The paper's published numbers, ILSVRC-2012 validation,
single crop: 24.02% top-1 / 7.18% top-5 error (ResNet-50 + BAM; its ResNet-50 baseline
24.56% / 7.50%).

Recipe (sec. 4.2): the ResNet training of the paper's baseline -- SGD, batch 256, momentum
0.9, weight decay 1e-4, learning rate 0.1 divided by 10 at epochs 30 and 60, 90 epochs;
random-resized 224 crops and flips; evaluation shorter side 256, centre 224. BAM after
stages 1-3 with reduction ratio 16 and dilation 4 (the model's defaults).
"""

from jaxvision.config_defaults import base_config

TRAIN_IMAGES = 1_281_167


def get_config(arg=None):
  config = base_config()
  config.model.name = "bam_resnet50"
  config.data.name = "tfds:imagenet2012"
  config.data.image_size = 224
  config.data.resize = "center_crop"
  config.data.augment = ("random_resized_crop", "flip")
  config.data.mean = (0.485, 0.456, 0.406)
  config.data.std = (0.229, 0.224, 0.225)
  config.batch_size = 256
  config.eval_batch_size = 256
  config.num_epochs = 90
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "step"
  config.lr_decay_at = (30 / 90, 60 / 90)
  config.lr_decay_factor = 0.1
  steps_per_epoch = TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 2000
  if arg == "runlocal":  # needs the prepared dataset; the final eval still reads all 50,000
    config.batch_size = 16
    config.eval_batch_size = 16
    config.num_train_steps = 2
    config.log_every_steps = 1
  config.lock()
  return config
