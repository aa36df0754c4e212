"""AlexNet (Krizhevsky, Sutskever, Hinton 2012) on ImageNet with the paper's recipe.

  jaxvision train --config configs/alexnet_imagenet.py --workdir runs/alexnet_in
  jaxvision eval --config configs/alexnet_imagenet.py --workdir runs/alexnet_in --mode ten_crop
  jaxvision train --config configs/alexnet_imagenet.py:2012 --workdir runs/alexnet_2012
  jaxvision train --config configs/alexnet_imagenet.py:2012_nolrn --workdir runs/alexnet_nolrn
  jaxvision train --config configs/alexnet_imagenet.py:2012_nodropout --workdir runs/alexnet_nodrop

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained 5-6 days on two GTX 580 GPUs; not run here. Result: not measured here. The
paper's published numbers (its two-GPU net with LRN; ours is torchvision's single-tower
layout), ILSVRC-2012 validation, one CNN, ten-crop: 40.7% top-1 / 18.2% top-5 error
(Table 2). torchvision's weights of this layout score 56.5% / 79.1% accuracy, centre crop.

Recipe (sec. 2, 4.1, 5): shorter side to 256, centre 256x256; train on random 224 crops of
it, mirrored with probability 1/2, plus PCA lighting noise (std 0.1); test on ten crops of the
256x256 image with softmax averaged. SGD, batch 128, momentum 0.9, weight decay 5e-4, learning
rate 0.01 divided by 10 "when the validation error rate stopped improving", three times in
about 90 epochs. The paper does not say when; a fixed step schedule at epochs 30, 60 and 80
stands in for the plateaus.

Variants (`configs/alexnet_imagenet.py:2012`, also `:2012,runlocal`): `2012` is the paper's
own network (model alexnet_2012: 96-256-384-384-256, LRN after conv1/conv2, the two GPU
towers as grouped convs, biases 1 where sec. 5 says) on 227x227 crops -- the size its 55x55
conv1 map needs; `2012_nolrn` and `2012_nodropout` are the ablations of sec. 3.3 ("response
normalization reduces our top-1 and top-5 error rates by 1.4% and 1.2%") and sec. 4.2
(without dropout "our network exhibits substantial overfitting"). Result: not measured.
"""

from jaxvision.config_defaults import (IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal,
                                       use_imagenet, variant_and_runlocal)


VARIANTS = ("2012", "2012_nolrn", "2012_nodropout")


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.model.name = "alexnet"
  if variant:
    config.model.name = "alexnet_2012"
    config.model.lrn = variant != "2012_nolrn"
    config.model.dropout_rate = 0.0 if variant == "2012_nodropout" else 0.5
  use_imagenet(config, image_size=227 if variant else 224)
  config.data.resize = "alexnet"      # eval: centre 224 of the 256x256 image
  config.data.resize_shorter = 256
  config.data.augment = ("alexnet_crop", "flip", "pca_lighting")
  config.data.pca_std = 0.1
  config.batch_size = 128
  config.eval_batch_size = 256        # ten_crop evaluates 10 views each: 2,560 images a batch
  config.num_epochs = 90
  config.optimizer = "sgd"
  config.learning_rate = 0.01
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "step"
  config.lr_decay_at = (30 / 90, 60 / 90, 80 / 90)
  config.lr_decay_factor = 0.1
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 2000
  if runlocal:
    imagenet_runlocal(config)
  config.lock()
  return config
