"""CLIP model: published sizes, causal text tower pooled at end-of-text, objective wiring."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision import losses
from jaxvision.models import get_model
from jaxvision.objectives import get_objective
from jaxvision.objectives.clip import pair_accuracy


def _count(name):
  model = get_model(name)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 224, 224, 3)),
                                             jnp.zeros((1, 77), jnp.int32)))
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes))


@pytest.mark.parametrize("name,expected", [("clip_vit_b32", 151_277_313),
                                           ("clip_vit_b16", 149_620_737)])
def test_parameter_counts_equal_openai_clip(name, expected):
  # OpenAI's ViT-B/32 and ViT-B/16 (= transformers CLIPModel at patch 32 / 16).
  assert _count(name) == expected


TOKENS = np.array([[598, 5, 9, 599] + [599] * 12,
                   [598, 7, 3, 8, 11, 599] + [599] * 10,
                   [598] + [4] * 14 + [599]], np.int32)


@pytest.fixture(scope="module")
def tiny():
  """Everything the tests look at, from ONE jitted call: on 8 simulated CPU devices each
  compilation costs seconds, and eager Flax is slower still."""
  from ml_collections import ConfigDict

  # One block per tower: what is tested here does not need depth, compilation time does.
  model = get_model("clip_test", vision_depth=1, text_depth=1)
  by_id = get_model("clip_test", vision_depth=1, text_depth=1, eot_token_id=599)
  objective = get_objective("clip", model, ConfigDict(
      {"model": {"name": "clip_test", "context_length": 16}}))
  images = np.random.default_rng(0).normal(size=(3, 16, 16, 3)).astype(np.float32)
  after = TOKENS.copy()
  after[0, 5:] = 17  # after end-of-text (position 3): invisible to the pooled position
  before = TOKENS.copy()
  before[0, 1] = 17  # before it: must change the embedding
  variants = np.concatenate([TOKENS, after, before])

  @jax.jit
  def run(key, images, tokens, variants):
    variables = model.init(key, *objective.init_inputs((16, 16, 3)))
    batch = {"image": images, "tokens": tokens}
    (loss, (metrics, _)), grads = jax.value_and_grad(objective.loss_fn, has_aux=True)(
        variables["params"], {}, batch, key, 0)
    img, txt, scale = model.apply(variables, images, tokens)
    return dict(variables=variables, loss=loss, metrics=metrics, grads=grads, img=img,
                txt=txt, scale=scale,
                by_argmax=model.apply(variables, variants, method="encode_text"),
                by_id=by_id.apply(variables, variants, method="encode_text"),
                clip_loss=losses.clip_loss(img, txt, logit_scale=scale))

  out = jax.device_get(run(jax.random.key(1), images, TOKENS, variants))
  return objective, out


def test_outputs_and_logit_scale_init(tiny):
  objective, out = tiny
  assert objective.train_stream == "image_text" and objective.evaluation == "zero_shot"
  assert out["img"].shape == (3, 16) and out["txt"].shape == (3, 16)
  assert float(out["scale"]) == pytest.approx(math.log(1 / 0.07))
  # not normalised (the reference normalises in the loss, not in encode_*)
  assert not np.allclose(np.linalg.norm(out["img"], axis=-1), 1.0)
  params = out["variables"]["params"]
  assert set(params) == {"encoder", "text", "visual_projection", "text_projection",
                         "logit_scale"}
  assert "bias" not in params["visual_projection"]
  assert "bias" not in params["encoder"]["patch_embed"]
  assert params["text"]["pos_embed"].shape == (16, 32)


def test_text_is_causal_and_pooled_at_end_of_text(tiny):
  _, out = tiny
  emb = out["by_argmax"]
  np.testing.assert_allclose(emb[:3], out["txt"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(emb[3], emb[0], rtol=1e-6, atol=1e-7)  # tokens after EOT
  assert np.abs(emb[6] - emb[0]).max() > 1e-4  # a token before EOT
  # eot_token_id=599 picks the same positions as argmax when end-of-text is the largest id.
  np.testing.assert_allclose(out["by_id"], emb, rtol=1e-6)


def test_objective_loss_matches_numpy_and_reaches_every_parameter(tiny):
  _, out = tiny
  # numpy: symmetric cross-entropy over exp(scale) * cosine similarities
  a = out["img"] / np.linalg.norm(out["img"], axis=-1, keepdims=True)
  b = out["txt"] / np.linalg.norm(out["txt"], axis=-1, keepdims=True)
  logits = np.exp(float(out["scale"])) * a.astype(np.float64) @ b.T
  ce = lambda m: np.mean(np.log(np.exp(m).sum(1)) - np.diag(m))
  assert float(out["loss"]) == pytest.approx(0.5 * (ce(logits) + ce(logits.T)), rel=1e-5)
  assert float(out["loss"]) == pytest.approx(float(out["clip_loss"]), rel=1e-6)
  assert float(out["metrics"]["logit_scale"]) == pytest.approx(1 / 0.07, rel=1e-5)
  flat = jax.tree_util.tree_leaves_with_path(out["grads"])
  dead = [jax.tree_util.keystr(p) for p, g in flat if not np.any(g)]
  assert dead == []  # both towers, both projections and the temperature learn


def test_context_length_must_be_written_in_the_config():
  from ml_collections import ConfigDict

  from jaxvision.errors import UserError

  with pytest.raises(UserError, match="model.context_length=16"):
    get_objective("clip", get_model("clip_test"), ConfigDict({"model": {"name": "clip_test"}}))


def test_pair_accuracy_closed_form():
  e = np.eye(4, dtype=np.float32)
  assert float(pair_accuracy(e, 3 * e)) == 1.0
  assert float(pair_accuracy(e, np.roll(e, 1, axis=0))) == 0.0


def test_paper_config_has_the_papers_hyperparameters():
  """Radford et al. 2021, tables 19-20: ViT-B/32, batch 32,768, 32 epochs, AdamW (0.9, 0.98),
  eps 1e-6, decay 0.2, lr 5e-4, 2,000 warm-up steps, cosine; vocabulary 49,408, 77 tokens."""
  from jaxvision.config_loading import load_config_file

  c = load_config_file("configs/clip_vit_b32.py")
  assert (c.model.name, c.objective, c.batch_size, c.num_epochs) == (
      "clip_vit_b32", "clip", 32768, 32)
  assert (c.optimizer, tuple(c.adam_betas), c.adam_eps, c.weight_decay) == (
      "adamw", (0.9, 0.98), 1e-6, 0.2)
  assert (c.learning_rate, c.warmup_steps, c.schedule) == (5e-4, 2000, "cosine")
  assert (c.model.vocab_size, c.model.context_length, c.data.image_size) == (49408, 77, 224)
