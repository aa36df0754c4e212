"""Rotation and SimCLR pieces: head=False backbones, the wrappers' params, the objectives,
the two-view stream and LARS against SimCLR's update rule."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxvision import objectives
from jaxvision.data import streams, views
from jaxvision.data.sources import array_source
from jaxvision.errors import UserError
from jaxvision.models import get_model
from jaxvision.train.optim import make_optimizer
from jaxvision.settings.simclr import SimCLRSettings


def _init(model, shape):
  return model.init(jax.random.key(0), jnp.zeros((2, *shape)), train=False)


@pytest.mark.parametrize("name,shape,head,removed", [
    ("resnet20", (32, 32, 3), "fc", 64 * 10 + 10),
    ("nin", (32, 32, 3), "block3_cccp2", 192 * 10 + 10),
    ("lenet5", (32, 32, 1), "output", 84 * 10 + 10),
    ("alexnet", (224, 224, 3), "classifier_6", 4096 * 1000 + 1000)])
def test_head_false_drops_exactly_the_classifier(name, shape, head, removed):
  count = lambda m: sum(x.size for x in jax.tree.leaves(jax.eval_shape(
      lambda: _init(m, shape))["params"]))
  # a dense / 1x1 layer of (D + 1) x 10 parameters, D the feature width
  assert count(get_model(name)) - count(get_model(name, head=False)) == removed


@pytest.mark.parametrize("name,shape,head", [
    ("resnet20", (8, 8, 3), "fc"),
    ("alexnet", (64, 64, 3), "classifier_6")])
def test_head_false_returns_what_the_classifier_reads(name, shape, head):
  kw = {"stages": (1, 1, 1)} if name == "resnet20" else {}
  full, trunk = get_model(name, **kw), get_model(name, head=False, **kw)
  v = _init(full, shape)
  assert set(v["params"]) - set(_init(trunk, shape)["params"]) == {head}
  x = jax.random.normal(jax.random.key(1), (3, *shape))
  feats = trunk.apply({**v, "params": {k: p for k, p in v["params"].items() if k != head}}, x)
  w, b = v["params"][head]["kernel"], v["params"][head]["bias"]
  np.testing.assert_allclose(full.apply(v, x), feats @ w + b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("wrapper", ["rotnet", "simclr"])
def test_wrapper_encoder_is_the_zoo_trunk(wrapper):
  model = get_model(wrapper, encoder="resnet20", stages=(1, 1, 1), num_classes=10)
  v = _init(model, (16, 16, 1))
  zoo = _init(get_model("resnet20", stages=(1, 1, 1), head=False), (16, 16, 1))
  assert (jax.tree.map(jnp.shape, v["params"]["encoder"]) ==
          jax.tree.map(jnp.shape, zoo["params"]))
  assert model.num_classes == (4 if wrapper == "rotnet" else 128)
  x = jnp.ones((2, 16, 16, 1))
  assert jax.eval_shape(lambda v, x: model.apply(v, x, method="features"), v, x).shape == (2, 64)
  with pytest.raises(ValueError, match="is a method.s model"):
    get_model(wrapper, encoder="simclr")


def _np_rot90_batch(x):
  return np.concatenate([np.rot90(x, k, axes=(1, 2)) for k in range(4)])


def test_rotation_objective_is_cross_entropy_on_the_four_rotations():
  model = get_model("rotnet", encoder="lenet5_relu")
  cfg = ml_collections.ConfigDict({"objective": "rotation"})
  obj = objectives.get_objective("rotation", model, cfg)
  assert (obj.train_stream, obj.evaluation) == ("single", "representation")
  v = _init(model, (32, 32, 1))
  images = np.random.default_rng(0).normal(size=(3, 32, 32, 1)).astype(np.float32)
  loss, (metrics, _) = jax.jit(obj.loss_fn)(v["params"], {}, {"image": images},
                                            jax.random.key(0), 0)
  logits = np.asarray(jax.jit(model.apply)(v, _np_rot90_batch(images)), np.float64)
  targets = np.repeat(np.arange(4), 3)
  logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  np.testing.assert_allclose(loss, -np.mean(logp[np.arange(12), targets]), rtol=1e-5)
  np.testing.assert_allclose(metrics["rotation_accuracy"],
                             np.mean(logits.argmax(1) == targets), rtol=1e-6)
  with pytest.raises(UserError, match="4-way"):
    objectives.get_objective("rotation", get_model("lenet5"), cfg)


def _fake_source(n=8, size=20, channels=3):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
  return array_source("fake", {"train": (images, np.arange(n) % 2)}, ["a", "b"])


def _two_view_config(**simclr):
  c = ml_collections.ConfigDict({"data": {"image_size": 16, "mean": (0.5,) * 3,
                                          "std": (0.25,) * 3}})
  c.simclr = ml_collections.ConfigDict(simclr)
  return c


def test_two_view_stream_has_two_different_views_and_no_label():
  source = _fake_source()
  cfg = _two_view_config(crop_scale=(0.2, 1.0), color_strength=0.5)
  kw = dict(local_batch=4, seed=3, process_index=0, process_count=1,
            settings=SimCLRSettings.from_config(cfg))
  first = next(streams.STREAMS["two_view"](source, cfg, start_step=0, **kw))
  assert set(first) == {"view1", "view2"}  # pre-training never sees the labels
  assert first["view1"].shape == (4, 16, 16, 3) and first["view1"].dtype == np.float32
  assert np.abs(first["view1"] - first["view2"]).mean() > 0.05
  # A function of (seed, step): step 1 of a fresh stream equals a stream resumed at 1.
  fresh = streams.STREAMS["two_view"](source, cfg, start_step=0, **kw)
  next(fresh)
  resumed = next(streams.STREAMS["two_view"](source, cfg, start_step=1, **kw))
  np.testing.assert_array_equal(next(fresh)["view2"], resumed["view2"])


def test_two_view_settings_are_checked():
  data = _two_view_config().data
  with pytest.raises(UserError, match="blur"):
    views.two_view(data, blur="yes")
  with pytest.raises(UserError, match="crop_scale"):
    views.two_view(data, crop_scale=(0.5, 0.2))


def test_simclr_objective_reads_its_settings():
  model = get_model("simclr", encoder="lenet5_relu")
  cfg = ml_collections.ConfigDict({"simclr": {"temperature": 0.2}})
  obj = objectives.get_objective("simclr", model, cfg)
  assert obj.temperature == 0.2 and obj.train_stream == "two_view"
  assert objectives.get_objective("simclr", model, ml_collections.ConfigDict()).temperature == 0.5
  with pytest.raises(UserError, match="temperature"):
    objectives.get_objective("simclr", model, ml_collections.ConfigDict(
        {"simclr": {"temperature": 0.0}}))


def test_lars_matches_simclr_update_rule():
  # SimCLR's LARSOptimizer (tf/lars_optimizer.py): for a matrix w with gradient g,
  #   g' = g + wd * w;  r = eta * |w| / |g'|;  v = m * v + lr * r * g';  w = w - v
  # biases and BN parameters (1-D): g' = g, r = 1 (no decay, no adaptation).
  cfg = ml_collections.ConfigDict({"learning_rate": 0.5, "warmup_steps": 0,
                                   "schedule": "constant", "optimizer": "lars",
                                   "weight_decay": 1e-2, "momentum": 0.9})
  tx, _ = make_optimizer(cfg, 10)
  rng = np.random.default_rng(0)
  params = {"kernel": rng.normal(size=(3, 2)).astype(np.float32),
            "bias": rng.normal(size=(2,)).astype(np.float32)}
  state = tx.init(params)
  w = {k: v.copy() for k, v in params.items()}
  vel = {k: np.zeros_like(v) for k, v in params.items()}
  for _ in range(3):
    grads = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()}
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    for k in w:
      g = grads[k] + (1e-2 * w[k] if k == "kernel" else 0.0)
      r = 0.001 * np.linalg.norm(w[k]) / np.linalg.norm(g) if k == "kernel" else 1.0
      vel[k] = 0.9 * vel[k] + 0.5 * r * g
      w[k] = w[k] - vel[k]
  for k in w:
    np.testing.assert_allclose(params[k], w[k], rtol=1e-5, atol=1e-6)
