"""SimCLR (Chen et al. 2020) ResNet-18 pre-training on CIFAR-10, the released code's recipe.

  jaxvision train --config configs/simclr_resnet18_cifar10.py --workdir runs/simclr_r18_c10
  jaxvision eval  --config configs/simclr_resnet18_cifar10.py --workdir runs/simclr_r18_c10

Data: TFDS cifar10 in --config.data.dir, or --config.data.download=True once. Hardware: a
single GPU (the reference command is for one GPU); not run here. Result: not measured here;
the google-research/simclr README reports about 91% linear-evaluation top-1 for this
command (the paper's CIFAR-10 ResNet-50 runs, appendix B.9, reach 94.0%).

The README's CIFAR-10 command: ResNet-18 with SimCLR's CIFAR stem (3x3 stride-1 first conv,
no max pool: model.stem='cifar'), batch 512, 1000 epochs, LARS with rate 1.0 x batch / 256
(linear scaling) = 2.0, momentum 0.9, weight decay 1e-4 (biases and BN excluded), 10
warm-up epochs, cosine decay, temperature 0.5, colour jitter strength 0.5, no blur,
random resized crop 0.08-1, flip, grayscale p = 0.2; projection 512 -> 512 -> 128 with
BN as in the code.
"""

import ml_collections

from jaxvision.config_defaults import base_config


def get_config(arg=None):
  config = base_config()
  config.objective = "simclr"
  config.model = ml_collections.ConfigDict({"name": "simclr", "encoder": "resnet18",
                                            "stem": "cifar", "head_bn": True})
  config.simclr = ml_collections.ConfigDict({
      "temperature": 0.5, "crop_scale": (0.08, 1.0), "color_strength": 0.5, "blur": "off"})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  config.data.name = "tfds:cifar10"
  config.data.image_size = 32
  config.data.resize = "none"
  config.data.mean = (0.4914, 0.4822, 0.4465)
  config.data.std = (0.2470, 0.2435, 0.2616)
  config.batch_size = 512
  config.eval_batch_size = 1000
  config.num_epochs = 1000
  config.optimizer = "lars"
  config.learning_rate = 1.0 * config.batch_size / 256
  config.momentum = 0.9
  config.weight_decay = 1e-4
  config.schedule = "cosine"
  config.warmup_steps = 10 * 50_000 // 512  # 10 epochs
  config.log_every_steps = 100
  config.eval_every_steps = 50_000
  config.checkpoint_every_steps = 2000
  if arg == "runlocal":  # needs the prepared dataset
    config.batch_size = 16
    config.num_train_steps = 2
    config.warmup_steps = 1
    config.log_every_steps = 1
    config.probe.max_train_examples = 1000
  config.lock()
  return config
