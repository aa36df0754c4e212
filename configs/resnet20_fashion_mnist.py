"""ResNet-20 (He et al. 2016, CIFAR option A) and its attention variants on Fashion-MNIST.

  apt-get install dataset-fashion-mnist   # or --config.data.dir=FOLDER_WITH_IDX_FILES
  jaxvision train --config configs/resnet20_fashion_mnist.py --workdir runs/resnet20_fmnist
  jaxvision train --config configs/resnet20_fashion_mnist.py:se --workdir runs/se_resnet20_fmnist
  jaxvision train --config configs/resnet20_fashion_mnist.py:bam --workdir runs/bam_resnet20_fmnist

Variants (the argument; add `,runlocal` for a 10-step smoke run): none, ResNet-20; `se`,
SE-ResNet-20 (Hu et al. 2018: squeeze-excite in every block); `bam`, BAM-ResNet-20 (Park et
al. 2018: BAM after stages 1 and 2). One recipe, so the three differ only in the attention
module.

Hardware: 2-core laptop CPU. Wall time and test accuracy: not yet measured. What ran: ResNet-20
`:runlocal` and a 30-step check at 90-120 images/s on this project's shared, busy 2-core CPU
(about 10 minutes an epoch, under 2 hours for the 10 epochs; the training loss fell from 2.3
to 1.07 in those 30 steps); SE `:runlocal` at 45 images/s, BAM `:runlocal` at 80 images/s.

He et al.'s CIFAR recipe (sec. 4.2) on 28x28 images zero-padded to 32x32: shifts of up to 2
pixels (the padding already added 2) and flips; SGD, batch 128, momentum 0.9, weight decay
1e-4, rate 0.1 -- cosine-decayed over 10 epochs instead of the 64k-iteration steps, to fit a
laptop.
"""

from jaxvision.config_defaults import base_config, variant_and_runlocal

# The arguments this file takes besides `runlocal`: variant -> model name.
VARIANTS = {"se": "se_resnet20", "bam": "bam_resnet20"}


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.model.name = VARIANTS[variant] if variant else "resnet20"
  config.data.name = "fashion_mnist"
  config.data.image_size = 32
  config.data.resize = "pad"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  config.batch_size = 128
  config.eval_batch_size = 1000
  config.num_epochs = 10
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "cosine"
  config.log_every_steps = 100
  config.eval_every_steps = 2000
  config.checkpoint_every_steps = 500
  if runlocal:
    config.num_train_steps = 10
    config.log_every_steps = 5
  config.lock()
  return config
