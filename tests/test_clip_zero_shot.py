"""CLIP data, zero-shot classifier, retrieval recall, and a tiny run through train + zero-shot."""

import argparse
import json
import os

import numpy as np
import pytest
from ml_collections import ConfigDict

from jaxvision.config_defaults import base_config
from jaxvision.data import image_text, sources
from jaxvision.data.sources import Source, array_source
from jaxvision.errors import UserError
from jaxvision.evaluate.zero_shot import classifier_weights, retrieval_recall
from jaxvision.settings.clip import ClipSettings

CLASSES = ("t-shirt/top", "trouser", "ankle boot")


def _config(**clip):
  config = base_config()
  config.model = ConfigDict({"name": "clip_test", "context_length": 16, "vocab_size": 600})
  config.data.image_size = 8
  config.data.resize = "none"
  settings = dict(templates=("a photo of a {}.", "a {}", "an image of the {}"),
                  eval_templates=("a cropped photo of the {}.",), tokenizer="", num_merges=40)
  config.clip = ConfigDict(dict(settings, **clip))
  return config


def _source(n=12):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 255, size=(n, 8, 8, 1), dtype=np.uint8)
  labels = np.arange(n) % len(CLASSES)
  return array_source("fake", {"train": (images, labels), "test": (images, labels)}, CLASSES)


def _stream(source, config, start_step=0):
  return image_text.image_text_stream(source, config, settings=ClipSettings.from_config(config),
                                      local_batch=4, seed=3,
                                      start_step=start_step, process_index=0, process_count=1)


def test_class_caption_stream_uses_training_templates_and_is_resumable():
  config, source = _config(), _source()
  tok = image_text.build_tokenizer(ClipSettings.from_config(config), CLASSES)
  batches = _stream(source, config)
  first = [next(batches) for _ in range(3)]
  assert first[0]["tokens"].shape == (4, 16) and first[0]["tokens"].dtype == np.int32
  assert first[0]["image"].shape == (4, 8, 8, 1)
  train_captions = {t.format(c) for t in config.clip.templates for c in CLASSES}
  seen = {tok.decode(row) for b in first for row in b["tokens"]}
  assert seen <= {tok.decode(tok(c)[0]) for c in train_captions}
  assert len(seen) > 3  # several templates are drawn
  # Resuming at step 2 gives the third batch exactly (images and captions).
  resumed = next(_stream(source, config, start_step=2))
  for key in ("image", "tokens"):
    np.testing.assert_array_equal(resumed[key], first[2][key])


def test_caption_of_each_image_names_its_class():
  config = _config()
  labels = np.arange(12) % 3
  images = np.broadcast_to((labels * 100).astype(np.uint8)[:, None, None, None], (12, 8, 8, 1))
  source = array_source("coded", {"train": (images.copy(), labels)}, CLASSES)
  tok = image_text.build_tokenizer(ClipSettings.from_config(config), CLASSES)
  batch = next(_stream(source, config))
  for image, tokens in zip(batch["image"], batch["tokens"]):
    label = int(round((float(image.mean()) * 0.5 + 0.5) * 255 / 100))  # undo mean/std 0.5
    own = {tok.decode(tok(t.format(CLASSES[label]))[0]) for t in config.clip.templates}
    assert tok.decode(tokens) in own


def test_held_out_templates_and_tokenizer_checks():
  config = _config()
  tok = image_text.build_tokenizer(ClipSettings.from_config(config), CLASSES)
  table = image_text.caption_table(tok, CLASSES, config.clip.eval_templates)
  assert table.shape == (1, 3, 16)
  with pytest.raises(UserError, match="model.vocab_size"):
    small = _config()
    small.model.vocab_size = 100
    image_text.build_tokenizer(ClipSettings.from_config(small), CLASSES)
  with pytest.raises(UserError, match="'{}'"):
    ClipSettings.from_config(_config(templates=("no placeholder",)))


def test_caption_source_tokenizes_one_of_its_captions(tmp_path):
  import tensorflow as tf

  captions = [["a red car", "the car is red"], ["two dogs", "dogs playing"]] * 4
  tok = image_text.build_tokenizer(ClipSettings.from_config(_config()), ("car", "dog"))
  tok.save(str(tmp_path))
  config = _config(tokenizer=str(tmp_path))
  images = np.zeros((8, 8, 8, 1), np.uint8)
  source = Source("pairs", 0, (), (8, 8, 1), {"train": 8},
                  lambda split: tf.data.Dataset.from_tensor_slices(
                      {"image": images, "captions": tf.constant(captions)}))
  source.has_captions = True
  batch = next(_stream(source, config))
  allowed = {tok.decode(tok(c)[0]) for pair in captions for c in pair}
  assert {tok.decode(row) for row in batch["tokens"]} <= allowed


def test_tfds_caption_dataset_absent_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match="not prepared"):
    sources.load_tfds_pairs_source("coco_captions", data_dir=str(tmp_path))
  with pytest.raises(UserError, match="caption_key"):
    sources.load_tfds_pairs_source("mnist", data_dir=str(tmp_path))


def test_classifier_is_renormalised_mean_of_unit_text_embeddings():
  rng = np.random.default_rng(1)
  emb = rng.normal(size=(2 * 3, 5))  # 2 templates x 3 classes, template-major
  got = np.asarray(classifier_weights(emb, 3, 2))
  unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
  for c in range(3):
    mean = (unit[c] + unit[3 + c]) / 2
    np.testing.assert_allclose(got[c], mean / np.linalg.norm(mean), rtol=1e-5)


def test_retrieval_recall_against_brute_force():
  rng = np.random.default_rng(2)
  img, txt = rng.normal(size=(30, 6)), rng.normal(size=(30, 6))
  txt[:10] = 5 * img[:10] + 0.01 * rng.normal(size=(10, 6))  # ten easy pairs
  got = retrieval_recall(img, txt)
  cos = (img / np.linalg.norm(img, axis=1, keepdims=True)) @ (
      txt / np.linalg.norm(txt, axis=1, keepdims=True)).T
  for k in (1, 5, 10):
    i2t = np.mean([i in np.argsort(-cos[i])[:k] for i in range(30)])
    t2i = np.mean([j in np.argsort(-cos[:, j])[:k] for j in range(30)])
    assert got[f"image_to_text_r@{k}"] == pytest.approx(i2t)
    assert got[f"text_to_image_r@{k}"] == pytest.approx(t2i)
  assert got["image_to_text_r@1"] >= 1 / 3
  perfect = retrieval_recall(np.eye(12), 2 * np.eye(12))
  assert all(v == 1.0 for v in perfect.values())


def test_tiny_run_trains_and_zero_shot_cli_writes_confusion(tmp_path):
  """digits through the real loop: 'clip' objective, image_text stream, zero_shot evaluator."""
  from jaxvision.train import loop
  from jaxvision.commands.zero_shot import add_parser as add_zero_shot_parser, zero_shot as run_zero_shot

  config = _config()
  config.data.name = "digits"
  config.model = ConfigDict({"name": "clip_test", "image_size": 8, "patch_size": 4,
                             "context_length": 16, "vocab_size": 600, "vision_depth": 1,
                             "text_depth": 1})
  config.objective = "clip"
  config.clip.templates = ("a photo of the digit {}.", "the number {}")
  config.batch_size, config.eval_batch_size = 64, 360
  config.num_train_steps, config.optimizer, config.learning_rate = 2, "adamw", 1e-3
  config.log_every_steps = config.eval_every_steps = config.checkpoint_every_steps = 2
  workdir = str(tmp_path / "run")
  final = loop.train_and_evaluate(config, workdir)
  assert final["num_examples"] == 360 and 0.0 <= final["accuracy"] <= final["top5_accuracy"]
  parser = argparse.ArgumentParser()
  add_zero_shot_parser(parser.add_subparsers(dest="command"))
  args = parser.parse_args(["zero-shot", "--workdir", workdir, "--data", "digits"])
  metrics = run_zero_shot(args)
  assert metrics["accuracy"] == pytest.approx(final["accuracy"], abs=1e-6)
  assert metrics["top5_accuracy"] == pytest.approx(final["top5_accuracy"], abs=1e-6)
  assert os.path.getsize(os.path.join(workdir, "zero_shot", "confusion.png")) > 1000
  with open(os.path.join(workdir, "zero_shot", "metrics.json")) as f:
    assert json.load(f)["num_examples"] == 360


def test_caption_retrieval_evaluator_on_a_caption_source(tmp_path):
  """The zero_shot evaluator on a caption dataset reports retrieval both ways."""
  import types

  import jax
  import tensorflow as tf

  from jaxvision.evaluate.zero_shot import zero_shot_eval
  from jaxvision.models import get_model
  from jaxvision.parallel import make_mesh

  tok = image_text.build_tokenizer(ClipSettings.from_config(_config()), ("car", "dog"))
  tok.save(str(tmp_path))
  config = _config(tokenizer=str(tmp_path), retrieval_examples=10)
  config.eval_batch_size = 8
  captions = [[f"a photo of {i} cars", "unused second caption"] for i in range(12)]
  images = np.random.default_rng(3).integers(0, 255, (12, 8, 8, 1), dtype=np.uint8)
  source = Source("pairs", 0, (), (8, 8, 1), {"test": 12},
                  lambda split: tf.data.Dataset.from_tensor_slices(
                      {"image": images, "captions": tf.constant(captions)}))
  source.has_captions = True
  model = get_model("clip_test", image_size=8, patch_size=4, vision_depth=1, text_depth=1)
  variables = jax.jit(model.init)(jax.random.key(0), np.zeros((1, 8, 8, 1), np.float32),
                                  np.zeros((1, 16), np.int32))
  exp = types.SimpleNamespace(config=config, source=source, model=model, mesh=make_mesh(),
                              objective=types.SimpleNamespace(
                                  settings=ClipSettings.from_config(config)))
  metrics = zero_shot_eval(exp, variables, "test")
  assert metrics["num_examples"] == 10  # retrieval_examples caps the pairs
  assert set(metrics) == {"num_examples"} | {f"{d}_r@{k}" for d in ("image_to_text",
                                                                    "text_to_image")
                                             for k in (1, 5, 10)}
  assert metrics["image_to_text_r@10"] == metrics["text_to_image_r@10"] == 1.0  # 10 of 10
  assert 0.0 <= metrics["image_to_text_r@1"] <= metrics["image_to_text_r@5"] <= 1.0
