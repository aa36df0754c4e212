"""Image-text pairs for CLIP: captions from class names x prompt templates, or real captions.

Settings: a jaxvision.settings.clip.ClipSettings the objective builds from config.clip and
the model's context_length and vocab_size, handed to the stream (its `settings` argument) and
to the zero-shot evaluator; nothing here reads the config's clip or model blocks.

Two kinds of source feed the "image_text" stream ({'image', 'tokens'} batches):
- any labelled Source (Fashion-MNIST, TFDS, folders): each training example gets the caption
  template.format(class name) with a template drawn at random from `templates`, and the
  `eval_templates` are held out for zero-shot evaluation;
- a TFDS dataset with captions (`sources.load_tfds_pairs_source`, e.g. coco_captions), whose
  examples carry 'captions', one or more strings per image; one is drawn per example.

The tokenizer is CLIP's BPE (jaxvision.text): a folder with vocab.json and merges.txt
(`tokenizer`), or, when that is empty, a small vocabulary learnt deterministically from
the training captions (`num_merges` merges), so a run can rebuild it from its config.
Class captions are tokenized once into a table; the pipeline only gathers rows of it.
Never imports jax.
"""

import numpy as np
import tensorflow as tf

from jaxvision.data import pipeline, views
from jaxvision.errors import UserError
from jaxvision.settings.clip import ClipSettings
from jaxvision.text.tokenizer import ClipTokenizer, train_tokenizer

def captions(class_names, templates) -> list[str]:
  """Template-major list: captions[t * C + c] = templates[t].format(class_names[c])."""
  return [t.format(name) for t in templates for name in class_names]


def build_tokenizer(settings: ClipSettings, class_names) -> ClipTokenizer:
  """The run's tokenizer: the settings' tokenizer files, or BPE learnt on the training
  captions."""
  if settings.tokenizer:
    tok = ClipTokenizer.from_directory(settings.tokenizer,
                                       context_length=settings.context_length)
  else:
    if not class_names:
      raise UserError("learning a tokenizer needs class names; set clip.tokenizer to a folder "
                      "with vocab.json and merges.txt")
    # Only the *training* templates: held-out templates must stay unseen, words included.
    tok = train_tokenizer(captions(class_names, settings.templates),
                          num_merges=settings.num_merges,
                          context_length=settings.context_length)
  if tok.vocab_size > settings.vocab_size:
    raise UserError(f"the tokenizer has {tok.vocab_size} tokens but model.vocab_size is "
                    f"{settings.vocab_size}; set model.vocab_size={tok.vocab_size}")
  return tok


def caption_table(tokenizer: ClipTokenizer, class_names, templates) -> np.ndarray:
  """(T, C, context_length) int32 token ids of every template x class caption."""
  ids = tokenizer(captions(class_names, templates))
  return ids.reshape(len(templates), len(class_names), tokenizer.context_length)


def _caption_seed(seed):
  # A seed of its own, folded in, so the caption draw is independent of the image's
  # augmentation seeds (views.single_view splits the same `seed`).
  return tf.random.experimental.stateless_fold_in(seed, 0x7E47)


def image_text_view(data_config, settings: ClipSettings, tokenizer: ClipTokenizer,
                    class_names):
  """(example, seed) -> {'image': augmented, 'tokens': one caption's ids} for training."""
  image_view = views.single_view(data_config, train=True)
  table = None if class_names is None else tf.constant(
      caption_table(tokenizer, class_names, settings.templates))

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


def image_text_stream(source, config, *, settings: ClipSettings, local_batch, seed, start_step,
                      process_index, process_count):
  """CLIP training: {'image', 'tokens'} per example, a function of (seed, step)."""
  pairs = getattr(source, "has_captions", False)
  names = None if pairs else source.class_names
  tokenizer = build_tokenizer(settings, names)
  view = image_text_view(config.data, settings, tokenizer, names)
  return pipeline.train_batches(source, view, local_batch=local_batch, seed=seed,
                                start_step=start_step, process_index=process_index,
                                process_count=process_count)
