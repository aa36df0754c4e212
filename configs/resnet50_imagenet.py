"""ResNet-50 (He et al. 2016) on ImageNet with torchvision's reference recipe.

  jaxvision train --config configs/resnet50_imagenet.py --workdir runs/resnet50_in
  jaxvision eval --config configs/resnet50_imagenet.py --workdir runs/resnet50_in --mode ten_crop
  jaxvision train --config configs/resnet50_imagenet.py:v1 --workdir runs/resnet50_v1
  jaxvision train --config configs/resnet50_imagenet.py:plain18 --workdir runs/plain18
  jaxvision train --config configs/resnet50_imagenet.py:plain34 --workdir runs/plain34
  jaxvision train --config configs/resnet50_imagenet.py:resnet18 --workdir runs/resnet18
  jaxvision train --config configs/resnet50_imagenet.py:resnet34 --workdir runs/resnet34

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
"""

from jaxvision.config_defaults import base_config
from jaxvision.errors import UserError

TRAIN_IMAGES = 1_281_167


VARIANTS = {"v1": "resnet50_v1", "plain18": "plain18", "plain34": "plain34",
            "resnet18": "resnet18", "resnet34": "resnet34"}


def get_config(arg=None):
  parts = set((arg or "").split(",")) - {""}
  if parts - {"runlocal", *VARIANTS} or len(parts & set(VARIANTS)) > 1:
    raise UserError(f"unknown argument {arg!r}; use one of {', '.join(VARIANTS)} "
                    "and/or runlocal (comma-separated)")
  variant = next((p for p in parts if p in VARIANTS), None)
  config = base_config()
  config.model.name = VARIANTS.get(variant, "resnet50")
  config.data.name = "tfds:imagenet2012"
  config.data.image_size = 224
  config.data.resize = "center_crop"
  config.data.augment = ("random_resized_crop", "flip")
  config.data.eval_resize = 256
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
  if variant:  # the paper's recipe, sec. 3.4
    config.data.augment = ("multiscale", "flip", "pca_lighting")
    config.data.multiscale_min = 256
    config.data.multiscale_max = 480
    config.num_epochs = 120
    config.lr_decay_at = (30 / 120, 60 / 120, 90 / 120)
  steps_per_epoch = TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 100
  config.eval_every_steps = 5 * steps_per_epoch
  config.checkpoint_every_steps = 2000
  if "runlocal" in parts:  # needs the prepared dataset; the final eval still reads all 50,000
    config.batch_size = 16
    config.eval_batch_size = 16
    config.num_train_steps = 2
    config.log_every_steps = 1
  config.lock()
  return config
