"""The top-level names every experiment config shares, with their defaults.

Config files in configs/ start from `base_config()` and change what their experiment needs,
so every experiment reads the same way and an override of a misspelt key is an error.
"""

import ml_collections

from jaxvision.errors import UserError


def base_data_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({
      "name": "digits",        # digits | fashion_mnist | folder | tfds:NAME
      "dir": "",               # data_dir for TFDS, the IDX folder, or the image-folder root
      "download": False,       # TFDS only: allow a network download
      "image_key": "image",    # TFDS feature names
      "label_key": "label",
      "channels": 3,           # image folder only
      "bad_images": "error",   # image folder: 'error' names a non-image file, 'skip' counts it
      # > 0: hold out this many training examples (or this fraction, if < 1) as a validation
      # split, drawn by validation_seed: periodic evaluation reads it and the test split is
      # evaluated once, at the end, so no choice is made on test (jaxvision/data/holdout.py)
      "validation_examples": 0,
      "validation_seed": 0,
      "image_size": 32,        # what the model sees (height = width)
      "resize": "bilinear",    # pad | bilinear | center_crop | none
      "augment": (),           # ops in order: random_crop, random_resized_crop, flip, ...
      "crop_padding": 4,       # for random_crop
      "crop_scale": (0.08, 1.0),  # random_resized_crop's area range (Inception's; MAE 0.2-1)
      # random_resized_crop's resize filters when shrinking, as PIL/torchvision (the reference
      # recipes) do; False resizes as flax/big_vision's TF pipelines do, ~1.4x faster per image
      # on a CPU core (BUILD_NOTES, #22): the input-bound choice at pod scale.
      "crop_antialias": True,
      "color_jitter": 0.4,     # strength for color_jitter
      "cutout_size": 16,       # side of cutout's square (DeVries & Taylor: 16 on CIFAR-10)
      "pca_std": 0.1,          # std of AlexNet's PCA lighting noise, for pca_lighting
      "resize_shorter": 256,   # AlexNet's square image side: resize 'alexnet', alexnet_crop
      "multiscale_min": 256,   # VGG scale jittering (multiscale): shorter side in [min, max]
      "multiscale_max": 512,
      "eval_resize": 256,      # ten_crop / dense evaluation: shorter side before cropping (Q)
      "dense_flip": True,      # dense evaluation also averages the mirrored image, as VGG did
      "mean": (0.5,),          # normalisation after scaling pixels to [0, 1]
      "std": (0.5,),
  })


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.model = ml_collections.ConfigDict({"name": "lenet5"})
  config.data = base_data_config()
  config.objective = "supervised"
  config.batch_size = 128          # global, over all devices and hosts
  config.eval_batch_size = 512     # global
  config.num_train_steps = -1      # > 0 wins over num_epochs
  config.num_epochs = 10.0
  config.optimizer = "sgd"         # sgd | adam | adamw | rmsprop | lars
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.nesterov = False
  config.weight_decay = 0.0
  config.adam_betas = (0.9, 0.999)  # adam / adamw
  config.adam_eps = 1e-8
  config.decay_matrices_only = False  # adamw: decay only kernels (not biases, gains, scalars)
  config.schedule = "cosine"       # constant | cosine | step
  config.warmup_steps = 0
  config.schedule_start_step = 0  # > 0: the schedule restarts there (Tri-Net's rounds)
  config.lr_decay_at = (0.5, 0.75)  # fractions of training, for schedule=step
  config.lr_decay_factor = 0.1
  config.label_smoothing = 0.0
  config.aux_loss_weight = 0.3
  config.dtype = "float32"         # compute dtype; parameters stay float32
  config.grad_accum_steps = 1      # micro-batches per step (batch_size is the whole step's)
  config.ema_decay = 0.0           # > 0: keep an EMA of the parameters and evaluate it
  config.init_from = ""            # import-weights folder or workdir to start a fresh run from
  config.seed = 0
  config.log_every_steps = 100
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 3
  config.preemption_grace_secs = 30.0  # after SIGTERM: finish the step, save, exit within this
  config.skip_nonfinite = False        # True: skip (and count) steps with a NaN/Inf loss
  config.host_timeout_secs = 300.0     # several hosts: exit if no step completes for this long
  config.lease_timeout_secs = 60.0     # a workdir lease without heartbeat this long is stale
  return config


# ----------------------------------------------------------------------------- config files' parts
# What several files in configs/ would otherwise each spell out again.

IMAGENET_TRAIN_IMAGES = 1_281_167
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def variant_and_runlocal(arg, variants) -> tuple:
  """A config file's argument: one of `variants`, 'runlocal', both comma-separated, or none.

  Returns (the variant or None, whether runlocal was asked), or a one-line UserError.
  """
  parts = set((arg or "").split(",")) - {""}
  if parts - {"runlocal", *variants} or len(parts & set(variants)) > 1:
    raise UserError(f"unknown argument {arg!r}; use one of {', '.join(variants)} "
                    "and/or runlocal (comma-separated)")
  return next(iter(parts & set(variants)), None), "runlocal" in parts


def use_imagenet(config, *, image_size: int = 224):
  """TFDS imagenet2012 (manual download, --config.data.dir), torchvision's normalisation, the
  centre-crop evaluation (shorter side image_size / 0.875, centre image_size)."""
  config.data.name = "tfds:imagenet2012"
  config.data.image_size = image_size
  config.data.resize = "center_crop"
  config.data.mean = IMAGENET_MEAN
  config.data.std = IMAGENET_STD


def imagenet_runlocal(config):
  """A two-step smoke run of an ImageNet config: needs the prepared dataset; the final eval
  still reads all 50,000 validation images."""
  config.batch_size = 16
  config.eval_batch_size = 16
  config.num_train_steps = 2
  config.log_every_steps = 1


# Fashion-MNIST's 60,000 training images: 5,000 held out for choices, 55,000 to train on.
FASHION_MNIST_VALIDATION = 5000


def fashion_mnist_crop_flip(config):
  """Fashion-MNIST at its native 28x28, normalised by its mean and std, with the CIFAR
  ResNets' random crop (2-pixel padding at this size) and flip."""
  config.data.name = "fashion_mnist"
  config.data.image_size = 28
  config.data.resize = "none"
  config.data.augment = ("random_crop", "flip")
  config.data.crop_padding = 2
  config.data.mean = (0.2860,)
  config.data.std = (0.3530,)
  return config


def semi_fashion_mnist(config, labels_per_class: int = 40):
  """The data of the semi-supervised comparison (MixMatch, Tri-Net, their supervised
  baselines): 40 labels per class drawn from the training images left after a 5,000-image
  validation split. The validation split is larger than the labeled set (Oliver et al. 2018
  would draw it from the labeled budget): it is there so no choice is made on test, and its
  labels are used for nothing but the periodic evaluation."""
  fashion_mnist_crop_flip(config)
  config.data.validation_examples = FASHION_MNIST_VALIDATION
  config.semi = ml_collections.ConfigDict({
      "labels_per_class": labels_per_class, "split_seed": 0, "unlabeled_ratio": 1,
      "num_augment": 2, "audit_dir": ""})
  return config
