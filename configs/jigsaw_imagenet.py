"""Jigsaw puzzles (Noroozi & Favaro 2016, "context-free network") pre-training on ImageNet.

  jaxvision train --config configs/jigsaw_imagenet.py --workdir runs/jigsaw_in
  jaxvision eval  --config configs/jigsaw_imagenet.py --workdir runs/jigsaw_in

Data: TFDS imagenet2012 prepared in --config.data.dir (manual download). Hardware: the
paper trained on one Titan X for about 2.5 days (350k iterations); not run here. Result: not
measured here. The paper's transfer numbers (AlexNet-like CFN, PASCAL VOC 2007
classification 67.6% mAP, detection 53.2% mAP) are for fine-tuning, a protocol this
repository does not implement; the representation evaluator reports a linear probe and kNN.

Geometry, checked against the public code: the paper and the PyTorch port
(bbrattoli/JigsawPuzzlePytorch, JigsawImageLoader.py) cut a 225x225 crop into 3x3 cells of
75x75 and take a random 64x64 tile in each; the authors' released Caffe prototxt
(MehdiNoroozi/JigsawPuzzleSolver, train_val_cfn_jps.prototxt) crops 255 with 64x64 tiles and
a jitter of 21. Here data.image_size is 224 (a random 224 crop of the 256x256 image, as
the AlexNet recipe; every ImageNet config here evaluates at 224): cells of 74 (the centre
222 square), tiles 64, jitter 0-10. `--config.data.image_size=225` gives the paper's exact
75-pixel cells (the geometry follows the image size). Each tile is normalised on its own
(the port's guard against low-level shortcuts).

Permutations: 1000 (the paper's best setting), chosen by the paper's greedy rule, the
average Hamming distance to the set so far (criterion 'mean', as the released
select_permutations.py; `--config.jigsaw.criterion=min` maximises the minimum distance
instead: 5 against 2 for 'mean' at 1000 permutations).

Network: the CFN is AlexNet-like (conv1 stride 2 for 64x64 tiles, fc6 of 1024 per tile,
fc7 4096 over the 9 concatenated tiles, fc8 1000). jaxvision's alexnet has no head=False
(pooled-features) variant yet, so the tile encoder here is ResNet-50 with head=False
(2048-d per tile), the backbone later jigsaw benchmarks used (Goyal et al. 2019); fc7 is
4096 wide with dropout 0.5 as in the CFN.

Solver, from the released solver_cfn_jps.prototxt: SGD, base rate 0.01, momentum 0.9, weight
decay 5e-4, batch 256, 350k iterations, rate x0.1 every 100k (at 2/7, 4/7, 6/7 of the run).
"""

import ml_collections

from jaxvision.config_defaults import base_config, use_imagenet


def get_config(arg=None):
  config = base_config()
  config.objective = "jigsaw"
  config.jigsaw = ml_collections.ConfigDict({
      "grid": 3, "tile_size": 64, "permutation_seed": 0, "criterion": "mean"})
  config.model = ml_collections.ConfigDict({
      "name": "jigsaw", "encoder": "resnet50", "permutations": 1000, "grid": 3,
      "normalize_tiles": True, "hidden": 4096, "dropout_rate": 0.5})
  config.probe = ml_collections.ConfigDict({"max_train_examples": 0})
  use_imagenet(config)
  config.data.resize = "alexnet"       # eval: centre 224 of the 256x256 image
  config.data.resize_shorter = 256
  config.data.augment = ("alexnet_crop",)
  config.batch_size = 256
  config.eval_batch_size = 256
  config.num_train_steps = 350_000
  config.optimizer = "sgd"
  config.learning_rate = 0.01
  config.momentum = 0.9
  config.weight_decay = 5e-4
  config.schedule = "step"
  config.lr_decay_at = (2 / 7, 4 / 7, 6 / 7)
  config.lr_decay_factor = 0.1
  config.log_every_steps = 100
  config.eval_every_steps = 50_000
  config.checkpoint_every_steps = 5000
  if arg == "runlocal":
    config.num_train_steps = 5
    config.batch_size = 8
    config.eval_batch_size = 8
    config.log_every_steps = 1
    config.probe.max_train_examples = 256
  config.lock()
  return config
