"""VGG-16, configuration D (Simonyan & Zisserman 2015), on ImageNet with the paper's recipe.

  jaxvision train --config configs/vgg16_imagenet.py --workdir runs/vgg16_imagenet
  jaxvision eval --config configs/vgg16_imagenet.py --workdir runs/vgg16_imagenet --mode dense
  jaxvision train --config configs/vgg16_imagenet.py:c --workdir runs/vgg16_c
  jaxvision eval --config configs/vgg16_imagenet.py:c --workdir runs/vgg16_c --mode multi_scale
  jaxvision train --config configs/vgg16_imagenet.py:a_lrn --workdir runs/vgg11_lrn

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained 2-3 weeks on four Titan Black GPUs; not run here. Result: not measured here.
The paper's published numbers for D trained with S in [256, 512], ILSVRC-2012 validation:
dense evaluation at Q = 384, 25.6% top-1 / 8.1% top-5 error (Table 3); multi-crop & dense
24.4% / 7.2% (Table 5).

Recipe (sec. 3.1-3.2): multi-scale training -- the shorter side rescaled to S drawn from
[256, 512] per image, a random 224 crop, horizontal flip, AlexNet's RGB colour shift. SGD,
batch 256, momentum 0.9, weight decay 5e-4, dropout 0.5 on fc6/fc7, learning rate 0.01
divided by 10 when the validation accuracy stopped improving, three times, stopping after
370K iterations (74 epochs); the decay epochs 30, 50, 65 are ours, the paper gives none.
The paper initialised the deep nets from its trained net A (or, later, Glorot's init); here
the torchvision init. Evaluation: dense, the FC layers as convolutions over the image at
Q = 384 (data.eval_resize), averaged with its mirror image. Q x Q centre squares, not the
whole image: see jaxvision/evaluate/protocols.py.

Variants (`:c`, `:a_lrn`, each also with `,runlocal`): `c` is configuration C (model vgg16_c,
the last conv of stages 3-5 a 1x1), same recipe; the paper's numbers for C trained with S in
[256, 512]: 27.3% / 8.8% at Q = 384 (Table 3), 26.3% / 8.2% over Q in {256, 384, 512}
(Table 4, `--mode multi_scale`). `a_lrn` is configuration A-LRN (model vgg11_lrn) as the
paper trained A: fixed S = 256 (shorter side 256, random 224 crops), Q = 256; Table 3: 29.7%
/ 10.5% (A without LRN: 29.6% / 10.4%, the paper's evidence that LRN does not help). The
paper initialised its deeper nets from A; here every variant starts from the torchvision
init. Result: not measured for either.
"""

from jaxvision.config_defaults import (IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal,
                                       use_imagenet, variant_and_runlocal)


VARIANTS = {"c": "vgg16_c", "a_lrn": "vgg11_lrn"}


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.model.name = VARIANTS.get(variant, "vgg16")
  config.model.dropout_rate = 0.5
  use_imagenet(config)
  config.data.augment = ("multiscale", "flip", "pca_lighting")
  config.data.multiscale_min = 256
  config.data.multiscale_max = 512
  config.data.eval_resize = 384       # Q for dense and ten_crop: the middle of [256, 512]
  if variant == "a_lrn":              # fixed S = 256: multiscale over [256, 256]
    config.data.multiscale_max = 256
    config.data.eval_resize = 256
  config.data.dense_flip = True
  config.batch_size = 256
  config.eval_batch_size = 256
  config.num_epochs = 74
  config.optimizer = "sgd"
  config.learning_rate = 0.01
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "step"
  config.lr_decay_at = (30 / 74, 50 / 74, 65 / 74)
  config.lr_decay_factor = 0.1
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 2000
  if runlocal:
    imagenet_runlocal(config)
  config.lock()
  return config
