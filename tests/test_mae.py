"""MAE: masking counts and the inverse shuffle, the encoder really sees only visible patches,
the loss with a perfect predictor, gradients only through masked patches, the encoder
contract (zoo ViT params minus head), the objective, and the reconstruction grid."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.models import get_model
from jaxvision.models.mae import MAE
from jaxvision.objectives.mae import MAEObjective


def key(seed):
  return jax.random.key(seed, impl="rbg")


@pytest.fixture(scope="module")
def tiny():
  model = get_model("mae_test")
  x = jnp.asarray(np.random.default_rng(0).standard_normal((3, 16, 16, 3)), jnp.float32)
  # Jitted once and shared: eager op-by-op init/apply of a transformer is slower on CPU.
  return model, jax.jit(model.init)(key(0), x), x


@pytest.fixture(scope="module")
def forward(tiny):
  model = tiny[0]
  return jax.jit(lambda v, x, seed: model.apply(v, x, train=True,
                                                rngs={"mask": jax.random.key(seed)}))


@pytest.mark.parametrize("length,ratio", [(16, 0.75), (49, 0.75), (10, 0.9), (7, 0.5)])
def test_masking_keeps_the_requested_count_and_restore_inverts_the_shuffle(length, ratio):
  ids_keep, mask, ids_restore = map(np.asarray, losses.random_masking_indices(
      key(length), 5, length, mask_ratio=ratio))
  keep = int(length * (1 - ratio))  # Python truncation, as the reference
  assert ids_keep.shape == (5, keep)
  np.testing.assert_array_equal(mask.sum(1), length - keep)
  for i in range(5):
    assert len(set(ids_keep[i])) == keep
    np.testing.assert_array_equal(mask[i, ids_keep[i]], 0)
    # ids_restore is a permutation whose inverse starts with the kept ids: gathering
    # [kept..., masked...] with it puts every token back at its own position.
    shuffle = np.argsort(ids_restore[i])
    np.testing.assert_array_equal(shuffle[:keep], ids_keep[i])
    np.testing.assert_array_equal(shuffle[ids_restore[i]], np.arange(length))
  if 0 < keep < length:  # Different samples get different masks.
    assert len({tuple(m) for m in mask}) > 1


def test_prediction_ignores_masked_pixels(tiny, forward):
  model, variables, x = tiny
  pred, mask = forward(variables, x, 7)
  assert pred.shape == (3, 16, 4 * 4 * 3) and mask.shape == (3, 16)
  np.testing.assert_array_equal(np.asarray(mask).sum(1), 12)  # 16 patches, ratio 0.75
  # Change every masked patch's pixels: the same mask must give the same prediction.
  patches = losses.patchify(x, patch_size=4)
  noise = jnp.asarray(np.random.default_rng(1).standard_normal(patches.shape), jnp.float32)
  changed = losses.unpatchify(patches + noise * mask[:, :, None], patch_size=4, channels=3)
  pred2, mask2 = forward(variables, changed, 7)
  np.testing.assert_array_equal(mask2, mask)
  np.testing.assert_allclose(pred2, pred, atol=1e-6)
  # A visible patch does reach it.
  visible = losses.unpatchify(patches + noise * (1 - mask[:, :, None]), patch_size=4,
                              channels=3)
  pred3, _ = forward(variables, visible, 7)
  assert np.abs(np.asarray(pred3 - pred)).max() > 1e-3


def test_perfect_predictor_has_zero_loss_and_gradient_only_on_masked_patches():
  rng = np.random.default_rng(2)
  images = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), jnp.float32)
  _, mask, _ = losses.random_masking_indices(key(3), 2, 4, mask_ratio=0.5)
  target = np.asarray(losses.patchify(images, patch_size=4))
  mean, var = target.mean(-1, keepdims=True), target.var(-1, ddof=1, keepdims=True)
  normed = (target - mean) / np.sqrt(var + 1e-6)
  for norm_pix, perfect in ((False, target), (True, normed)):
    loss = losses.masked_patch_mse(images, jnp.asarray(perfect), mask, patch_size=4,
                                   norm_pix=norm_pix)
    assert abs(float(loss)) < 1e-10
  pred = jnp.asarray(rng.standard_normal(target.shape), jnp.float32)
  grad = jax.grad(lambda p: losses.masked_patch_mse(images, p, mask, patch_size=4,
                                                    norm_pix=True))(pred)
  grad, m = np.asarray(grad), np.asarray(mask)
  np.testing.assert_array_equal(grad[m == 0], 0.0)
  assert np.all(np.abs(grad[m == 1]).sum(-1) > 0)
  # Closed form: d/dpred of sum(mask * mean((pred - t)^2)) / sum(mask).
  expected = 2 * (np.asarray(pred) - normed) / target.shape[-1] * m[..., None] / m.sum()
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


def test_encoder_is_the_zoo_vit_minus_its_head(tiny):
  model, variables, x = tiny
  zoo = get_model("vit_test", pos_embed="sincos", num_classes=10)
  zoo_params = jax.eval_shape(lambda: zoo.init(key(0), x))["params"]
  encoder = dict(variables["params"]["encoder"])
  assert set(zoo_params) - set(encoder) == {"head"}
  zoo_shapes = jax.tree.map(lambda a: a.shape, {k: v for k, v in zoo_params.items()
                                                if k != "head"})
  assert jax.tree.map(lambda a: a.shape, encoder) == zoo_shapes
  # features(x): the encoder on all patches, unmasked -- the headless zoo ViT's output.
  headless = get_model("vit_test", pos_embed="sincos", num_classes=0, pooling="cls")
  want = jax.jit(headless.apply)({"params": encoder}, x)
  got = jax.jit(lambda v, x: model.apply(v, x, method="features"))(variables, x)
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def _config(**mae):
  config = ml_collections.ConfigDict({"mae": mae})
  return config


def test_objective_loss_trains_and_uses_the_step_rng(tiny):
  model, variables, x = tiny
  objective = MAEObjective.from_config(model, _config(mask_ratio=0.75, norm_pix_loss=True))
  assert objective.train_stream == "single" and objective.evaluation == "representation"
  batch = {"image": x, "label": jnp.zeros((3,), jnp.int32)}
  import optax
  tx = optax.adam(3e-3)

  # One compiled function for every check: the loss (before the update) and an Adam step.
  @jax.jit
  def step(params, opt, rng):
    (loss, aux), grads = jax.value_and_grad(objective.loss_fn, has_aux=True)(
        params, {}, batch, rng, 0)
    updates, opt = tx.update(grads, opt)
    return loss, aux, optax.apply_updates(params, updates), opt

  params, opt = variables["params"], tx.init(variables["params"])
  loss, (metrics, state), _, _ = step(params, opt, key(1))
  assert np.isfinite(loss) and state == {}
  np.testing.assert_allclose(metrics["mask_fraction"], 0.75)
  # The mask comes from the step rng: another rng, another loss; the same rng, the same.
  assert float(step(params, opt, key(2))[0]) != float(loss)
  assert float(step(params, opt, key(1))[0]) == float(loss)
  # A few Adam steps on one batch with a fixed mask reduce the loss.
  for _ in range(15):
    last, _, params, opt = step(params, opt, key(1))
  assert float(last) < 0.8 * float(loss)


def test_user_errors():
  with pytest.raises(UserError, match="mask_ratio"):
    MAEObjective.from_config(get_model("mae_test"), _config(mask_ratio=1.0))
  with pytest.raises(UserError, match="MAE model"):
    MAEObjective.from_config(get_model("vit_test"), _config())
  with pytest.raises(UserError, match="channels"):
    get_model("mae_test").init(key(0), jnp.zeros((1, 16, 16, 1)))


def test_reconstruction_grid_png(tiny, tmp_path):
  pytest.importorskip("matplotlib")
  from jaxvision.reporting import mae_grid
  model, variables, x = tiny
  images = np.asarray(x)
  rows = mae_grid.reconstruction_rows(model, variables, images, mean=(0.5,), std=(0.5,),
                                      norm_pix=True, seed=0)
  original, masked, recon = rows.original, rows.masked, rows.reconstruction
  assert original.shape == masked.shape == recon.shape == (3, 16, 16, 3)
  # Visible patches of the reconstruction are the original pixels (as in the paper's figures).
  mask = np.asarray(rows.mask)
  pix = np.asarray(losses.patchify(jnp.asarray(recon), patch_size=4))
  ori = np.asarray(losses.patchify(jnp.asarray(original), patch_size=4))
  np.testing.assert_allclose(pix[mask == 0], ori[mask == 0], atol=1e-6)
  path = mae_grid.save_grid(rows, tmp_path / "grid.png")
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
