"""Image-text pairs for CLIP: captions from class names x prompt templates, or real captions.

Two kinds of source feed the "image_text" stream ({'image', 'tokens'} batches):
- any labelled Source (Fashion-MNIST, TFDS, folders): each training example gets the caption
  template.format(class name) with a template drawn at random from `clip.templates`, and the
  templates in `clip.eval_templates` are held out for zero-shot evaluation;
- a TFDS dataset with captions (`sources.load_tfds_pairs_source`, e.g. coco_captions), whose
  examples carry 'captions', one or more strings per image; one is drawn per example.

The tokenizer is CLIP's BPE (jaxvision.text): a folder with vocab.json and merges.txt
(`clip.tokenizer`), or, when that is empty, a small vocabulary learnt deterministically from
the training captions (`clip.num_merges` merges), so a run can rebuild it from its config.
Class captions are tokenized once into a table; the pipeline only gathers rows of it.
Never imports jax.
"""

import numpy as np
import tensorflow as tf

from jaxvision.data import pipeline, views
from jaxvision.errors import UserError
from jaxvision.text.tokenizer import ClipTokenizer, train_tokenizer

# A few of CLIP's ImageNet prompts (Radford et al. 2021, notebooks/Prompt_Engineering) for
# training, and different ones held out for zero-shot evaluation.
TRAIN_TEMPLATES = (
    "a photo of a {}.", "a picture of a {}.", "an image of the {}.", "a photo of the {}.",
    "a small photo of a {}.", "a large photo of the {}.", "a low resolution photo of a {}.",
    "a good photo of the {}.", "{}",
)
EVAL_TEMPLATES = (
    "a black and white photo of the {}.", "a cropped photo of a {}.",
    "a close-up photo of the {}.", "a bright photo of a {}.",
)
# Captions of TFDS caption datasets (coco_captions: captions/text, a list per image).
def clip_settings(config) -> dict:
  """The config's `clip` sub-dict with defaults; every CLIP piece reads its settings here."""
  clip = dict(config.get("clip", {}) or {})
  out = dict(templates=tuple(clip.get("templates", TRAIN_TEMPLATES)),
             eval_templates=tuple(clip.get("eval_templates", EVAL_TEMPLATES)),
             tokenizer=clip.get("tokenizer", ""), num_merges=int(clip.get("num_merges", 300)),
             context_length=int(config.model.get("context_length", 77)))
  for key in ("templates", "eval_templates"):
    if not out[key] or any("{}" not in t for t in out[key]):
      raise UserError(f"clip.{key} must be a non-empty list of templates holding '{{}}' for "
                      f"the class name, got {out[key]!r}")
  return out


def captions(class_names, templates) -> list[str]:
  """Template-major list: captions[t * C + c] = templates[t].format(class_names[c])."""
  return [t.format(name) for t in templates for name in class_names]


def build_tokenizer(config, class_names) -> ClipTokenizer:
  """The run's tokenizer: clip.tokenizer's files, or BPE learnt on the training captions."""
  s = clip_settings(config)
  if s["tokenizer"]:
    tok = ClipTokenizer.from_directory(s["tokenizer"], context_length=s["context_length"])
  else:
    if not class_names:
      raise UserError("learning a tokenizer needs class names; set clip.tokenizer to a folder "
                      "with vocab.json and merges.txt")
    # Only the *training* templates: held-out templates must stay unseen, words included.
    tok = train_tokenizer(captions(class_names, s["templates"]), num_merges=s["num_merges"],
                          context_length=s["context_length"])
  vocab_size = config.model.get("vocab_size", 49408)
  if tok.vocab_size > vocab_size:
    raise UserError(f"the tokenizer has {tok.vocab_size} tokens but model.vocab_size is "
                    f"{vocab_size}; set model.vocab_size={tok.vocab_size}")
  return tok


def caption_table(tokenizer: ClipTokenizer, class_names, templates) -> np.ndarray:
  """(T, C, context_length) int32 token ids of every template x class caption."""
  ids = tokenizer(captions(class_names, templates))
  return ids.reshape(len(templates), len(class_names), tokenizer.context_length)


def _caption_seed(seed):
  # A seed of its own, folded in, so the caption draw is independent of the image's
  # augmentation seeds (views.single_view splits the same `seed`).
  return tf.random.experimental.stateless_fold_in(seed, 0x7E47)


def image_text_view(config, tokenizer: ClipTokenizer, class_names):
  """(example, seed) -> {'image': augmented, 'tokens': one caption's ids} for training."""
  image_view = views.single_view(config.data, train=True)
  s = clip_settings(config)
  table = None if class_names is None else tf.constant(
      caption_table(tokenizer, class_names, s["templates"]))

  def tokenize(text):
    return tokenizer([text.decode("utf-8")])[0]

  def view(example, seed):
    # the whole example goes on: a window decode.py cut for image_view travels with it
    image = image_view(dict(example, label=tf.constant(0, tf.int32)), seed)["image"]
    if "captions" in example:  # real captions: draw one of the image's captions
      texts = tf.reshape(example["captions"], [-1])
      pick = tf.random.stateless_uniform([], _caption_seed(seed), 0, tf.shape(texts)[0],
                                         tf.int32)
      tokens = tf.numpy_function(tokenize, [texts[pick]], tf.int32, stateful=False)
      tokens = tf.ensure_shape(tokens, [tokenizer.context_length])
    else:
      pick = tf.random.stateless_uniform([], _caption_seed(seed), 0, table.shape[0], tf.int32)
      tokens = table[pick, example["label"]]
    return {"image": image, "tokens": tokens}

  if hasattr(image_view, "crop_window"):  # same seed, same window: decode only it
    view.crop_window = image_view.crop_window
  return view


def image_text_stream(source, config, *, local_batch, seed, start_step, process_index,
                      process_count):
  """CLIP training: {'image', 'tokens'} per example, a function of (seed, step)."""
  pairs = getattr(source, "has_captions", False)
  tokenizer = build_tokenizer(config, None if pairs else source.class_names)
  view = image_text_view(config, tokenizer, None if pairs else source.class_names)
  return pipeline.train_batches(source, view, local_batch=local_batch, seed=seed,
                                start_step=start_step, process_index=process_index,
                                process_count=process_count)
