"""Distribution alignment (ReMixMatch, sec. 3.2) as an option of MixMatch: the pure function by
hand, the guess it feeds, the 128-batch window the objective keeps, and that window's life in a
real (tiny) training run: initialised, stepped and checkpointed with the model state."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.losses import distribution_alignment
from jaxvision.models import get_model
from jaxvision.objectives.mixmatch import ALIGNMENT, MixMatch, guess_labels
from jaxvision.train import experiment, loop
from tests.helpers import config


def test_alignment_by_hand():
  # [.5, .5] * ([.5, .5] / [.8, .2]) = [.3125, 1.25] -> [.2, .8]
  got = distribution_alignment(np.array([[0.5, 0.5]]), np.array([0.8, 0.2]),
                               np.array([0.5, 0.5]))
  np.testing.assert_allclose(got, [[0.2, 0.8]], rtol=1e-5)
  # A model that already predicts the target distribution is left alone.
  p = np.random.default_rng(0).dirichlet(np.ones(4), size=5)
  np.testing.assert_allclose(distribution_alignment(p, np.full(4, .25), np.full(4, .25)), p,
                             rtol=1e-5)


def test_guess_aligned_to_the_models_own_mean_is_uniform_before_sharpening():
  # Mean over the two views [.7, .3]; aligning it to p_model = [.7, .3] gives [.5, .5], which
  # sharpening keeps; without alignment: [.49, .09] / .58.
  views = np.array([[[0.6, 0.4], [0.8, 0.2]]], np.float32)
  np.testing.assert_allclose(guess_labels(views, temperature=0.5, p_model=np.array([.7, .3])),
                             [[0.5, 0.5]], rtol=1e-5)
  np.testing.assert_allclose(guess_labels(views, temperature=0.5),
                             [[0.49 / 0.58, 0.09 / 0.58]], rtol=1e-5)


def _setup(window=4):
  model = get_model("resnet20", num_classes=3, stages=(1, 1, 1), widths=(4, 4, 4))
  variables = model.init(jax.random.key(0), jnp.zeros((2, 4, 4, 1)))
  rng = np.random.default_rng(0)
  batch = {"image": jnp.asarray(rng.normal(size=(4, 4, 4, 1)), jnp.float32),
           "label": jnp.array([0, 1, 2, 0]),
           "unlabeled_image": jnp.asarray(rng.normal(size=(4, 2, 4, 4, 1)), jnp.float32)}
  obj = MixMatch(model=model, rampup_steps=100, distribution_alignment=True,
                 alignment_window=window)
  return model, variables, batch, obj


def test_window_starts_uniform_and_takes_the_batch_mean_prediction():
  model, variables, batch, obj = _setup()
  state = obj.init_model_state({"batch_stats": variables["batch_stats"]})
  np.testing.assert_array_equal(state[ALIGNMENT]["history"], np.full((4, 3), 1 / 3, np.float32))
  old = np.array([[.5, .3, .2], [.1, .1, .8], [.3, .3, .4], [.2, .7, .1]], np.float32)
  state = {**state, ALIGNMENT: {"history": jnp.asarray(old)}}
  _, (_, new_state) = obj.loss_fn(variables["params"], state, batch, jax.random.key(1), 50)
  # Independently: the model in train mode (batch statistics) on all unlabeled views at once.
  u = batch["unlabeled_image"].reshape(8, 4, 4, 1)
  logits, _ = model.apply(variables, u, train=True, mutable=["batch_stats"])
  expected = np.asarray(jax.nn.softmax(logits)).mean(axis=0)
  history = np.asarray(new_state[ALIGNMENT]["history"])
  np.testing.assert_allclose(history[0], expected, rtol=1e-5)
  np.testing.assert_array_equal(history[1:], old[:-1])   # the oldest batch mean is dropped
  assert set(new_state) == {"batch_stats", ALIGNMENT}


def test_uniform_window_changes_nothing_a_skewed_one_changes_the_loss():
  _, variables, batch, obj = _setup()
  plain = MixMatch(model=obj.model, rampup_steps=100)
  base = {"batch_stats": variables["batch_stats"]}
  key = jax.random.key(1)
  loss_plain = float(plain.loss_fn(variables["params"], base, batch, key, 50)[0])
  aligned_state = obj.init_model_state(base)
  loss_uniform = float(obj.loss_fn(variables["params"], aligned_state, batch, key, 50)[0])
  assert loss_uniform == pytest.approx(loss_plain, rel=1e-5)
  skewed = {**base, ALIGNMENT: {"history": jnp.tile(jnp.array([.9, .05, .05]), (4, 1))}}
  assert float(obj.loss_fn(variables["params"], skewed, batch, key, 50)[0]) != pytest.approx(
      loss_plain, rel=1e-3)


def test_window_is_initialised_stepped_and_checkpointed_in_a_training_run(tmp_path):
  # 3 steps of MixMatch on digits with a window of 5 batches: the restored checkpoint holds
  # 3 pushed batch means (rows 0-2, each a distribution) and 2 untouched 1/10 rows.
  c = config("mixmatch_fashion_mnist", "--config.data.name=digits", "--config.data.dir=",
             "--config.data.validation_examples=0",
             "--config.data.image_size=8", "--config.data.mean=(0.3,)",
             "--config.data.std=(0.4,)", "--config.semi.labels_per_class=3",
             "--config.model.widths=(4,4,4)", "--config.batch_size=8",
             "--config.num_train_steps=3", "--config.eval_every_steps=100",
             "--config.checkpoint_every_steps=100", "--config.mixmatch.rampup_steps=2",
             "--config.mixmatch.distribution_alignment=True",
             "--config.mixmatch.alignment_window=5")
  loop.train_and_evaluate(c, str(tmp_path))
  _, state = experiment.load_trained(c, str(tmp_path))
  assert int(state.step) == 3
  history = np.asarray(state.model_state[ALIGNMENT]["history"])
  assert history.shape == (5, 10)
  np.testing.assert_allclose(history.sum(axis=1), 1.0, rtol=1e-5)
  assert not np.allclose(history[:3], 0.1)
  np.testing.assert_array_equal(history[3:], np.full((2, 10), 0.1, np.float32))


def test_an_empty_window_is_a_one_line_error():
  c = config("mixmatch_fashion_mnist", "--config.mixmatch.alignment_window=0")
  with pytest.raises(UserError, match="alignment_window=0.*use 1 or more"):
    MixMatch.from_config(get_model("resnet20", num_classes=10, stages=(1, 1, 1)), c)
