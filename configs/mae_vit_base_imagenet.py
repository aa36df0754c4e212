"""MAE (He et al. 2022) pre-training of ViT-B/16 on ImageNet with the paper's recipe.

  jaxvision train --config configs/mae_vit_base_imagenet.py --workdir runs/mae_vit_b
  jaxvision eval --config configs/mae_vit_base_imagenet.py --workdir runs/mae_vit_b

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trains on TPUs (the PyTorch re-implementation: 64 V100s, ~42 h for ViT-L at 800
epochs); not run here. Result: not measured here. The published numbers, ImageNet-1K
validation top-1 (facebookresearch/mae README and FINETUNE.md; paper Table 3, 1600-epoch
pre-training with normalised pixels): fine-tuning ViT-B 83.6%, ViT-L 85.9%, ViT-H 86.9%
(87.8% at 448 px); linear probing ViT-B 68.0%, ViT-L 75.8%, ViT-H 76.6% (TF/TPU; 67.8 /
76.0 / 77.2 with the PyTorch code). 800-epoch ViT-L fine-tunes to 85.4% (Table 1d).

Recipe (paper Table 8 / PRETRAIN.md): mask ratio 0.75, normalised-pixel loss, decoder 512-d
with 8 blocks and 16 heads; AdamW with weight decay 0.05, batch 4096, learning rate
blr * batch / 256 with blr 1.5e-4 (= 2.4e-3), 40 warm-up epochs, cosine decay, 800 epochs
(1600 for the table's numbers: --config.num_epochs=1600); random-resized crops and flips.

AdamW betas (0.9, 0.95); weight decay skips biases and norm gains (decay_matrices_only;
the class and mask tokens are decayed, as in the reference); random_resized_crop's area
range 0.2-1 as the paper's (data.crop_scale). The probe here is the "representation" evaluator (L-BFGS
logistic regression on features, kNN), not the paper's 90-epoch LARS linear classifier
with BatchNorm.
"""

import ml_collections

from jaxvision.config_defaults import IMAGENET_TRAIN_IMAGES, base_config, use_imagenet

BASE_LR = 1.5e-4


def get_config(arg=None):
  config = base_config()
  config.model = ml_collections.ConfigDict({
      "name": "mae_vit_base", "image_size": 224, "patch_size": 16, "channels": 3,
      "decoder_dim": 512, "decoder_depth": 8, "decoder_heads": 16, "pooling": "cls"})
  config.objective = "mae"
  config.mae = ml_collections.ConfigDict({"mask_ratio": 0.75, "norm_pix_loss": True})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  use_imagenet(config)
  config.data.augment = ("random_resized_crop", "flip")
  config.data.crop_scale = (0.2, 1.0)  # MAE's (Inception's default is 0.08-1)
  config.data.eval_resize = 256
  config.batch_size = 4096
  config.eval_batch_size = 1024
  config.num_epochs = 800
  config.optimizer = "adamw"
  config.learning_rate = BASE_LR * config.batch_size / 256
  config.weight_decay = 0.05
  config.adam_betas = (0.9, 0.95)
  config.decay_matrices_only = True
  config.schedule = "cosine"
  steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.batch_size
  config.warmup_steps = 40 * steps_per_epoch
  config.log_every_steps = 100
  config.eval_every_steps = 100 * steps_per_epoch
  config.checkpoint_every_steps = 2 * steps_per_epoch
  if arg == "runlocal":  # needs the prepared dataset; a tiny MAE and a small probe
    config.model.name = "mae_test"
    config.model.image_size = 32
    config.model.patch_size = 8
    config.model.decoder_dim = 16
    config.model.decoder_depth = 1
    config.model.decoder_heads = 2
    config.data.image_size = 32
    config.batch_size = 16
    config.eval_batch_size = 16
    config.num_train_steps = 2
    config.warmup_steps = 0
    config.log_every_steps = 1
    config.probe.max_train_examples = 256
  config.lock()
  return config
