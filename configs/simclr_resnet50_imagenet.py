"""SimCLR (Chen, Kornblith, Norouzi, Hinton 2020) ResNet-50 pre-training on ImageNet.

  jaxvision train --config configs/simclr_resnet50_imagenet.py --workdir runs/simclr_r50
  jaxvision eval  --config configs/simclr_resnet50_imagenet.py --workdir runs/simclr_r50

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the paper
used 32-128 TPU v3 cores (batch 4096 needs at least 32); not run here. Result: not measured
here. Published linear-evaluation top-1: 69.3% after 1000 epochs (paper, Table 6); about
64.5% for this 100-epoch setting (google-research/simclr README).

The paper's default setting (sec. 2.3 and appendix B.1): batch 4096 (8192 views per step),
100 epochs, LARS with rate 0.3 x batch / 256 = 4.8, momentum 0.9, weight decay 1e-6, biases
and BN excluded from decay and adaptation, 10 warm-up epochs then cosine decay;
temperature 0.1 (the code's ImageNet setting; the CIFAR runs use 0.5); projection 2048 ->
2048 -> 128 with BN in the head as in the released v1 code (model.head_bn); augmentation:
random resized crop 0.08-1, flip, colour jitter strength 1.0 with p = 0.8, grayscale
p = 0.2, Gaussian blur p = 0.5 (kernel 23 = 10% of 224). Batch norm statistics span the
global batch (one jit over the sharded global array). The linear evaluation here is the
representation evaluator's full-batch L-BFGS probe, which at 1.28M x 2048 features needs
about 10 GiB of host memory; the paper's ImageNet protocol (SGD on augmented crops, 90
epochs) is not implemented.
"""

import ml_collections

from jaxvision.config_defaults import base_config, use_imagenet


def get_config(arg=None):
  config = base_config()
  config.objective = "simclr"
  config.model = ml_collections.ConfigDict({"name": "simclr", "encoder": "resnet50",
                                            "head_bn": True})
  config.simclr = ml_collections.ConfigDict({
      "temperature": 0.1, "crop_scale": (0.08, 1.0), "color_strength": 1.0, "blur": "on"})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  use_imagenet(config)
  config.batch_size = 4096
  config.eval_batch_size = 4096
  config.num_epochs = 100
  config.optimizer = "lars"
  config.learning_rate = 0.3 * config.batch_size / 256
  config.momentum = 0.9
  config.weight_decay = 1e-6
  config.schedule = "cosine"
  config.warmup_steps = 10 * 1_281_167 // 4096  # 10 epochs
  config.log_every_steps = 100
  config.eval_every_steps = 1_000_000  # the representation evaluation runs at the end
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":  # needs the prepared dataset
    config.batch_size = 16
    config.eval_batch_size = 16
    config.num_train_steps = 2
    config.warmup_steps = 1
    config.log_every_steps = 1
    config.probe.max_train_examples = 1000
  config.lock()
  return config
