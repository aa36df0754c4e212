"""ResNet-50 (He et al. 2016) on ImageNet with torchvision's reference recipe.

  jaxvision train --config configs/resnet50_imagenet.py --workdir runs/resnet50_in
  jaxvision eval --config configs/resnet50_imagenet.py --workdir runs/resnet50_in --mode ten_crop
  jaxvision train --config configs/resnet50_imagenet.py:v1 --workdir runs/resnet50_v1
  jaxvision train --config configs/resnet50_imagenet.py:plain18 --workdir runs/plain18
  jaxvision train --config configs/resnet50_imagenet.py:plain34 --workdir runs/plain34
  jaxvision train --config configs/resnet50_imagenet.py:resnet18 --workdir runs/resnet18
  jaxvision train --config configs/resnet50_imagenet.py:resnet34 --workdir runs/resnet34
  jaxvision train --config configs/resnet50_imagenet.py:se --workdir runs/se_resnet50
  jaxvision train --config configs/resnet50_imagenet.py:bam --workdir runs/bam_resnet50

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
torchvision recipe uses 8 GPUs (32 images each); not run here. Result: not measured here.
The paper's published numbers, ILSVRC-2012 validation, ten-crop: 22.85% top-1 / 6.71% top-5
error (Table 3). torchvision's weights from this recipe (the "v1.5" stride placement, as
here) score 76.13% / 92.86% accuracy, centre crop.

Recipe (torchvision references/classification, the paper's sec. 3.4 with Inception crops):
SGD, batch 256, momentum 0.9, weight decay 1e-4, learning rate 0.1 divided by 10 at epochs
30 and 60, 90 epochs; random-resized 224 crops and flips; evaluation shorter side 256,
centre 224.

Variants with the paper's own recipe (sec. 3.4), `:v1`, `:plain18`, `:plain34`, `:resnet18`,
`:resnet34` (each also with `,runlocal`): scale augmentation (shorter side uniform in
[256, 480]), random 224 crops, flips, PCA colour noise; SGD, batch 256, momentum 0.9, weight
decay 1e-4, no dropout, learning rate 0.1 divided by 10 "when the error plateaus", 60e4
iterations (120 epochs; the decay epochs 30, 60, 90 are ours); ten-crop testing. `v1` is
ResNet-50 with the stride on the bottleneck's first 1x1 (model resnet50_v1), the paper's:
Table 3 (option B, ten-crop) 22.85% top-1 / 6.71% top-5 error. plain18/plain34 and
resnet18/resnet34 are Table 2's degradation pairs: top-1 error (ten-crop) plain 27.94% /
28.54%, ResNet 27.88% / 25.03%. Result: not measured for any variant.

`:se`: SE-ResNet-50 (Hu, Shen, Sun 2018, "Squeeze-and-Excitation Networks") with its paper's
recipe (sec. 6.1): SGD with momentum 0.9, batch 1024, learning rate 0.6 divided by 10 every 30
epochs, 100 epochs, reduction ratio 16; random-size crops and flips. Weight decay 1e-4 (the
released Caffe models'; the section does not state it). The paper's data balancing strategy
has no counterpart here. Hardware: 8 servers of 8 GPUs; not run here. Published, ILSVRC-2012
validation, single 224 centre crop: 23.29% top-1 / 6.62% top-5 error (Table 2; its ResNet-50
re-implementation: 24.80% / 7.48%). Result: not measured here.

`:bam`: BAM-ResNet-50 (Park, Woo, Lee, Kweon 2018, "BAM: Bottleneck Attention Module") with
the ResNet training of the paper's baseline (sec. 4.2), i.e. the torchvision recipe above; BAM
after stages 1-3 with reduction ratio 16 and dilation 4 (the model's defaults). Published,
single crop: 24.02% top-1 / 7.18% top-5 error (its ResNet-50 baseline 24.56% / 7.50%).
Result: not measured here.
"""

from jaxvision.config_defaults import (IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal,
                                       use_imagenet, variant_and_runlocal)


VARIANTS = {"v1": "resnet50_v1", "plain18": "plain18", "plain34": "plain34",
            "resnet18": "resnet18", "resnet34": "resnet34", "se": "se_resnet50",
            "bam": "bam_resnet50"}
# The variants trained with the paper's own ResNet recipe (sec. 3.4); se has SENet's.
PAPER_RECIPE = ("v1", "plain18", "plain34", "resnet18", "resnet34")


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.model.name = VARIANTS.get(variant, "resnet50")
  use_imagenet(config)
  config.data.augment = ("random_resized_crop", "flip")
  config.data.eval_resize = 256
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
  if variant in PAPER_RECIPE:  # the paper's recipe, sec. 3.4
    config.data.augment = ("multiscale", "flip", "pca_lighting")
    config.data.multiscale_min = 256
    config.data.multiscale_max = 480
    config.num_epochs = 120
    config.lr_decay_at = (30 / 120, 60 / 120, 90 / 120)
  if variant == "se":  # SENet's recipe, sec. 6.1
    config.batch_size = 1024
    config.eval_batch_size = 512
    config.num_epochs = 100
    config.learning_rate = 0.6
    config.lr_decay_at = (0.3, 0.6, 0.9)
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 1000 if variant == "se" else 2000
  if runlocal:
    imagenet_runlocal(config)
  config.lock()
  return config
