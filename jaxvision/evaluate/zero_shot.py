"""Zero-shot classification and image<->text retrieval with a CLIP model (Radford et al.
2021, sec. 3.1.2 and the prompt-ensembling of sec. 3.1.4).

Zero-shot: every class name in every held-out prompt template ("a photo of a {}.") ->
text embeddings, L2-normalised, averaged over templates per class, renormalised: the rows
of a linear classifier. An image's logits are exp(logit_scale) * its normalised embedding
times that matrix; top-1/top-5 count over the whole split (padding masked), on the device
mesh like every other evaluation.

Retrieval (datasets with real captions): recall@K image->text (is the image's own caption
among the K most similar captions?) and text->image, over the first
`clip.retrieval_examples` pairs of the split.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxvision.data import image_text, pipeline, views
from jaxvision.evaluate.classification import evaluate, make_eval_step
from jaxvision.parallel import batch_sharding, global_batch, replicated_sharding


def _normalize(x):
  x = jnp.asarray(x, jnp.float32)
  return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, -1, keepdims=True), 1e-12))


def classifier_weights(text_embeddings, num_classes: int, num_templates: int):
  """(T * C, D) template-major text embeddings -> (C, D) unit rows (mean of unit vectors)."""
  emb = _normalize(text_embeddings).reshape(num_templates, num_classes, -1)
  return _normalize(jnp.mean(emb, axis=0))


def zero_shot_classifier(model, variables, tokenizer, class_names, templates):
  """(C, D) zero-shot classifier of `class_names` under the prompt `templates`."""
  tokens = image_text.caption_table(tokenizer, class_names, templates)
  flat = tokens.reshape(-1, tokens.shape[-1])
  emb = jax.jit(lambda v, t: model.apply(v, t, method="encode_text"))(variables, flat)
  return classifier_weights(emb, len(class_names), len(templates))


def retrieval_recall(image_emb, text_emb, ks=(1, 5, 10)) -> dict[str, float]:
  """Recall@K both ways for pairs (image_emb[i], text_emb[i]); numpy in, floats out."""
  img = np.asarray(_normalize(image_emb))
  txt = np.asarray(_normalize(text_emb))
  sims = img @ txt.T
  # Rank of the true partner = how many candidates score strictly higher.
  i2t = np.sum(sims > np.diagonal(sims)[:, None], axis=1)
  t2i = np.sum(sims > np.diagonal(sims)[None, :], axis=0)
  out = {}
  for k in ks:
    out[f"image_to_text_r@{k}"] = float(np.mean(i2t < k))
    out[f"text_to_image_r@{k}"] = float(np.mean(t2i < k))
  return out


def _predict_fn(model):
  def predict(v, images):
    emb = _normalize(model.apply(v["model"], images, method="encode_image"))
    scale = jnp.exp(jnp.minimum(v["model"]["params"]["logit_scale"], math.log(100.0)))
    return scale * emb @ v["classifier"].T
  return predict


_STEPS = {}


def _eval_step(exp):
  # One compiled step per experiment, so periodic evaluation does not recompile.
  key = id(exp)
  if key not in _STEPS or _STEPS[key][0] is not exp:
    _STEPS[key] = (exp, make_eval_step(_predict_fn(exp.model), exp.mesh))
  return _STEPS[key][1]


def _local_batch(exp):
  return exp.config.eval_batch_size // jax.process_count()


def zero_shot_eval(exp, variables, split: str = "test") -> dict:
  """The "zero_shot" evaluator: accuracy/top5_accuracy with held-out templates (+ retrieval)."""
  settings = exp.objective.settings  # ClipSettings
  if getattr(exp.source, "has_captions", False):
    return caption_retrieval(exp, variables, split)
  tokenizer = image_text.build_tokenizer(settings, exp.source.class_names)
  weights = zero_shot_classifier(exp.model, variables, tokenizer, exp.source.class_names,
                                 settings.eval_templates)
  batches = pipeline.eval_batches(exp.source, views.single_view(exp.config.data, train=False),
                                  split=split, local_batch=_local_batch(exp),
                                  process_index=jax.process_index(),
                                  process_count=jax.process_count())
  return evaluate(_eval_step(exp), {"model": variables, "classifier": weights}, batches,
                  exp.mesh)


def zero_shot_predictions(exp, variables, split: str = "test", templates=None):
  """(top-5 class indices (N, 5), labels (N,)) over the whole split, for confusion matrices.

  Single-process: the predictions of every host are not gathered.
  """
  settings = exp.objective.settings  # ClipSettings
  tokenizer = image_text.build_tokenizer(settings, exp.source.class_names)
  weights = zero_shot_classifier(exp.model, variables, tokenizer, exp.source.class_names,
                                 templates or settings.eval_templates)
  predict = _predict_fn(exp.model)
  k = min(5, len(exp.source.class_names))
  step = jax.jit(lambda v, x: jax.lax.top_k(predict(v, x), k)[1],
                 in_shardings=(replicated_sharding(exp.mesh), batch_sharding(exp.mesh)))
  batches = pipeline.eval_batches(exp.source, views.single_view(exp.config.data, train=False),
                                  split=split, local_batch=exp.config.eval_batch_size)
  tops, labels = [], []
  for batch in batches:
    top = np.asarray(step({"model": variables, "classifier": weights},
                          global_batch({"image": batch["image"]}, exp.mesh)["image"]))
    keep = batch["mask"] == 1
    tops.append(top[keep])
    labels.append(batch["label"][keep])
  return np.concatenate(tops), np.concatenate(labels)


def caption_retrieval(exp, variables, split: str = "test") -> dict:
  """Recall@1/5/10 both ways over the first clip.retrieval_examples pairs (first caption)."""
  limit = exp.objective.settings.retrieval_examples
  tokenizer = image_text.build_tokenizer(exp.objective.settings, None)
  image_view = views.single_view(exp.config.data, train=False)

  def view(example, seed):
    import tensorflow as tf

    first = tf.reshape(example["captions"], [-1])[0]
    tokens = tf.numpy_function(lambda s: tokenizer([s.decode("utf-8")])[0], [first], tf.int32,
                               stateful=False)
    image = image_view({"image": example["image"], "label": tf.constant(0, tf.int32)},
                       seed)["image"]
    return {"image": image, "tokens": tf.ensure_shape(tokens, [tokenizer.context_length])}

  step = jax.jit(lambda v, x, t: exp.model.apply(v, x, t)[:2],
                 in_shardings=(replicated_sharding(exp.mesh), batch_sharding(exp.mesh),
                               batch_sharding(exp.mesh)))
  images, texts = [], []
  for batch in pipeline.eval_batches(exp.source, view, split=split,
                                     local_batch=exp.config.eval_batch_size,
                                     max_examples=limit):
    g = global_batch({"image": batch["image"], "tokens": batch["tokens"]}, exp.mesh)
    img, txt = step(variables, g["image"], g["tokens"])
    keep = batch["mask"] == 1
    images.append(np.asarray(img)[keep])
    texts.append(np.asarray(txt)[keep])
  return dict(retrieval_recall(np.concatenate(images), np.concatenate(texts)),
              num_examples=int(sum(len(i) for i in images)))
