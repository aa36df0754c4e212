"""CLIP ViT-B/32 with the paper's hyperparameters (Radford et al. 2021, tables 19 and 20).

  jaxvision train --config configs/clip_vit_b32.py --workdir runs/clip_vit_b32 \\
      --config.clip.tokenizer=FOLDER_WITH_CLIP_vocab.json_AND_merges.txt

Paper: 400M WebImageText pairs (not public), batch 32,768, 32 epochs, AdamW with decoupled
weight decay 0.2, beta2 0.98 and eps 1e-6 for the ViTs, learning rate 5e-4 for B/32 with
2,000 warm-up iterations and cosine decay, logit scale from 1/0.07 clipped at 100,
mixed precision; a random square crop of the resized image is the only augmentation.
Result reported there: 63.2% zero-shot ImageNet top-1 (OpenCLIP's README: LAION-400M gives
62.9%). Hardware there: 592 V100s class of cluster; not run here (no WIT, no accelerator).

Here the pairs come from a TFDS caption dataset (`data.name = "tfds_pairs:NAME"`,
coco_captions by default, jaxvision.data.sources.load_tfds_pairs_source); zero-shot
evaluation of such a run reports image<->text retrieval recall@1/5/10 on the test split.
Weight decay skips gains, biases and the logit scale (`decay_matrices_only`), as
open_clip's reimplementation does (the paper does not say which parameters it decays).
"""

from ml_collections import ConfigDict

from jaxvision.config_defaults import base_config
from jaxvision.settings.clip import EVAL_TEMPLATES, TRAIN_TEMPLATES

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # preprocessing of the released models
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def get_config(arg=None):
  config = base_config()
  config.model = ConfigDict(dict(name="clip_vit_b32", context_length=77, vocab_size=49408))
  config.objective = "clip"
  config.data.name = "tfds_pairs:coco_captions"
  config.data.image_size = 224
  config.data.resize = "center_crop"
  config.data.augment = ()
  config.data.mean = CLIP_MEAN
  config.data.std = CLIP_STD
  config.clip = ConfigDict(dict(
      templates=TRAIN_TEMPLATES, eval_templates=EVAL_TEMPLATES,
      tokenizer="",  # a folder with CLIP's vocab.json + merges.txt (e.g. from from_hf_clip)
      num_merges=49152 - 256 - 2, retrieval_examples=5000))
  config.batch_size = 32768
  config.eval_batch_size = 1024
  config.num_epochs = 32
  config.optimizer = "adamw"
  config.learning_rate = 5e-4
  config.weight_decay = 0.2
  config.adam_betas = (0.9, 0.98)  # the paper's ViT setting (ResNets: 0.999)
  config.adam_eps = 1e-6           # ViT setting (ResNets: 1e-8)
  config.decay_matrices_only = True
  config.schedule = "cosine"
  config.warmup_steps = 2000
  config.dtype = "bfloat16"
  config.log_every_steps = 100
  config.eval_every_steps = 5000
  config.checkpoint_every_steps = 1000
  if arg == "runlocal":
    config.batch_size = 64
    config.eval_batch_size = 64
    config.num_train_steps = 10
    config.warmup_steps = 2
  config.lock()
  return config
