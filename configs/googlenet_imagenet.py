"""GoogLeNet / Inception v1 (Szegedy et al. 2015) on ImageNet, the paper's schedule.

  jaxvision train --config configs/googlenet_imagenet.py --workdir runs/googlenet_imagenet
  jaxvision train --config configs/googlenet_imagenet.py:2014 --workdir runs/googlenet_2014

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained with asynchronous SGD on a CPU cluster (DistBelief); not run here. Result: not
measured here. The paper's published number for one model, one crop, ILSVRC-2012
validation: 10.07% top-5 error (Table 3; no single-model top-1 is given). torchvision's
weights of this layout (with BatchNorm) score 69.8% / 89.5% accuracy, centre crop.

Recipe (sec. 5-6): SGD with momentum 0.9, learning rate decreased by 4% every 8 epochs,
auxiliary classifiers' losses added with weight 0.3, dropout 0.4 before the classifier,
Inception crops (8%-100% of the area, aspect 3/4-4/3) and flips. The paper gives neither the
initial rate, the batch, the weight decay nor the length; these come from BVLC's Caffe
reproduction of the same schedule (bvlc_googlenet solver: lr 0.01, batch 32, weight decay
2e-4, 0.96 every 320,000 iterations = 8 epochs, 10M iterations = 250 epochs). The model is
torchvision's layout, with BatchNorm the 2014 net did not have (--config.model.norm=none
drops it). No Polyak averaging, no photometric distortions.

Variant `configs/googlenet_imagenet.py:2014` (also `:2014,runlocal`): the paper's own network
(model googlenet_2014, Table 1: convs with bias and no BN, 5x5 branches, LRN in the stem,
auxiliary heads with 5x5/3 average pooling, 1x1 conv 128, fc 1024, dropout 0.7) with the
same recipe. Result: not measured; the paper's 10.07% top-5 (one model, one crop) is its
number for exactly this network.
"""

from jaxvision.config_defaults import (IMAGENET_TRAIN_IMAGES, base_config, imagenet_runlocal,
                                       use_imagenet, variant_and_runlocal)

EPOCHS = 250
VARIANTS = ("2014",)  # the paper's own network (model googlenet_2014)


def get_config(arg=None):
  variant, runlocal = variant_and_runlocal(arg, VARIANTS)
  config = base_config()
  config.model.name = "googlenet_2014" if variant == "2014" else "googlenet"
  use_imagenet(config)
  config.data.augment = ("random_resized_crop", "flip")
  config.batch_size = 32
  config.eval_batch_size = 256
  config.num_epochs = EPOCHS
  config.optimizer = "sgd"
  config.learning_rate = 0.01
  config.momentum = 0.9
  config.weight_decay = 2e-4
  config.aux_loss_weight = 0.3
  config.schedule = "step"  # x0.96 at every 8th epoch: an exponential decay in steps
  config.lr_decay_at = tuple(e / EPOCHS for e in range(8, EPOCHS, 8))
  config.lr_decay_factor = 0.96
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.log_every_steps = 200
  config.eval_every_steps = 8 * steps_per_epoch
  config.checkpoint_every_steps = 5000
  if runlocal:
    imagenet_runlocal(config)
  config.lock()
  return config
