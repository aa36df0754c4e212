"""ViT: published parameter count, MAE's sin-cos table and attention against independent numpy,
logits parity with timm's VisionTransformer on copied weights (skipped without torch/timm)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.models import MODELS, get_model
from jaxvision.models import vit as vit_lib
from jaxvision.models.layers import num_params


def key(seed):
  return jax.random.key(seed, impl="rbg")


def _shapes(model, shape):
  x = jax.ShapeDtypeStruct((1,) + tuple(shape), jnp.float32)
  return jax.eval_shape(lambda x: model.init(key(0), x), x)


def test_vit_base_parameter_count_matches_timm():
  # timm vit_base_patch16_224 (learned position embeddings, class token, 1000 classes).
  variables = _shapes(get_model("vit_base", num_classes=1000), (224, 224, 3))
  assert num_params(variables["params"]) == 86_567_656
  # sincos: the same network minus the (197, 768) learned table, which is not a parameter.
  fixed = _shapes(get_model("vit_base", pos_embed="sincos"), (224, 224, 3))
  assert num_params(fixed["params"]) == 86_567_656 - 197 * 768


def test_layer_names_and_headless_features():
  variables = _shapes(get_model("vit_test", num_classes=5, pre_norm=True), (16, 16, 3))
  assert set(variables["params"]) == {"patch_embed", "cls_token", "pos_embed", "pre_norm",
                                      "block_0", "block_1", "norm", "head"}
  assert set(variables["params"]["block_0"]["attn"]) == {"q", "k", "v", "out"}
  for headless in (get_model("vit_test", num_classes=0), get_model("vit_test", head=False)):
    v = _shapes(headless, (16, 16, 3))
    assert "head" not in v["params"]
    out = jax.eval_shape(lambda v, x: headless.apply(v, x), v,
                         jax.ShapeDtypeStruct((3, 16, 16, 3), jnp.float32))
    assert out.shape == (3, 32)


def _mae_reference_sincos(embed_dim, grid_size):
  """facebookresearch/mae util/pos_embed.py, transcribed (meshgrid with w first)."""
  def one_d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float64)
    omega /= dim / 2.
    omega = 1. / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)
  grid = np.meshgrid(np.arange(grid_size, dtype=np.float32),
                     np.arange(grid_size, dtype=np.float32))
  grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
  emb = np.concatenate([one_d(embed_dim // 2, grid[0]), one_d(embed_dim // 2, grid[1])], 1)
  return np.concatenate([np.zeros([1, embed_dim]), emb], axis=0)  # cls_token=True


def test_sincos_table_matches_mae_reference():
  ours = vit_lib.sincos_pos_embed_2d(64, 7, 7)
  np.testing.assert_allclose(ours, _mae_reference_sincos(64, 7)[1:], atol=1e-6)
  # Inside the model: cls row zeros, then the table, added to the patch tokens.
  model = get_model("vit_test", pos_embed="sincos", num_classes=0)
  variables = model.init(key(0), jnp.zeros((1, 16, 16, 3)))
  table = model.apply(variables, method=lambda m: m._positions())
  np.testing.assert_allclose(table[0], _mae_reference_sincos(32, 4), atol=1e-6)
  with pytest.raises(UserError, match="divisible by 4"):
    vit_lib.sincos_pos_embed_2d(30, 2, 2)


# 'cudnn' needs a GPU; 'dot_product' is the same jax.nn.dot_product_attention call on its XLA
# path, and 'auto' is 'xla' on a CPU backend.
@pytest.mark.parametrize("impl", ["xla", "dot_product", "auto"])
@pytest.mark.parametrize("fused_qkv", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_numpy(impl, fused_qkv, causal):
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 5, 8)).astype(np.float32)
  module = vit_lib.Attention(dim=8, num_heads=2, causal=causal, attention_impl=impl,
                             fused_qkv=fused_qkv)
  params = module.init(key(1), jnp.asarray(x))["params"]
  got = np.asarray(module.apply({"params": params}, jnp.asarray(x)))
  p = jax.tree.map(np.asarray, params)
  proj = lambda name, y: y @ p[name]["kernel"] + p[name]["bias"]
  q, k, v = (proj(n, x).reshape(2, 5, 2, 4).transpose(0, 2, 1, 3) for n in "qkv")
  logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(4.0)
  if causal:
    logits = np.where(np.tril(np.ones((5, 5), bool)), logits, -np.inf)
  w = np.exp(logits - logits.max(-1, keepdims=True))
  w /= w.sum(-1, keepdims=True)
  out = (w @ v).transpose(0, 2, 1, 3).reshape(2, 5, 8)
  np.testing.assert_allclose(got, proj("out", out), rtol=1e-5, atol=1e-5)


def test_speed_settings_keep_the_parameters():
  # Same names, shapes and initial values, so checkpoints and imported weights carry over.
  # ('cudnn' builds its parameters in the same code as 'dot_product' but cannot trace on a
  # CPU: jax checks for cuDNN while tracing.)
  x = jnp.zeros((1, 16, 16, 3))
  reference = get_model("vit_test").init(key(0), x)
  for settings in ({"fused_qkv": True}, {"attention_impl": "dot_product", "fused_qkv": True}):
    variables = get_model("vit_test", **settings).init(key(0), x)
    assert jax.tree.structure(variables) == jax.tree.structure(reference)
    jax.tree.map(np.testing.assert_array_equal, variables, reference)
  with pytest.raises(UserError, match="attention_impl"):
    get_model("vit_test", attention_impl="flash").init(key(0), x)


def test_quick_gelu_and_exact_gelu():
  x = jnp.linspace(-3, 3, 13)
  np.testing.assert_allclose(vit_lib.quick_gelu(x), x / (1 + np.exp(-1.702 * np.asarray(x))),
                             rtol=1e-6)
  from math import erf
  exact = [v * 0.5 * (1 + erf(v / np.sqrt(2))) for v in np.asarray(x, np.float64)]
  np.testing.assert_allclose(vit_lib.activation_fn("gelu")(x), exact, rtol=1e-5, atol=1e-7)


def test_wrong_image_size_is_a_user_error():
  model = get_model("vit_test")
  with pytest.raises(UserError, match="image_size"):
    model.init(key(0), jnp.zeros((1, 20, 20, 3)))
  with pytest.raises(UserError, match="multiple of patch_size"):
    get_model("vit_test", image_size=18).init(key(0), jnp.zeros((1, 18, 18, 3)))


def test_registered_variants():
  for name, width in (("vit_tiny", 192), ("vit_small", 384), ("vit_base", 768),
                      ("vit_large", 1024)):
    assert MODELS[name].input_shape == (224, 224, 3)
    assert get_model(name).hidden_dim == width


def _from_timm(state_dict, depth):
  """timm VisionTransformer state dict -> our params (qkv split into q, k, v)."""
  sd = {k: v.detach().numpy() for k, v in state_dict.items()}
  dense = lambda name: {"kernel": sd[name + ".weight"].T, "bias": sd[name + ".bias"]}
  norm = lambda name: {"scale": sd[name + ".weight"], "bias": sd[name + ".bias"]}
  params = {
      "patch_embed": {"kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
                      "bias": sd["patch_embed.proj.bias"]},
      "cls_token": sd["cls_token"], "pos_embed": sd["pos_embed"],
      "norm": norm("norm"), "head": dense("head")}
  for i in range(depth):
    b = f"blocks.{i}."
    w, bias = np.split(sd[b + "attn.qkv.weight"], 3), np.split(sd[b + "attn.qkv.bias"], 3)
    attn = {n: {"kernel": w[j].T, "bias": bias[j]} for j, n in enumerate("qkv")}
    attn["out"] = dense(b + "attn.proj")
    params[f"block_{i}"] = {"norm1": norm(b + "norm1"), "norm2": norm(b + "norm2"),
                            "attn": attn, "mlp": {"fc1": dense(b + "mlp.fc1"),
                                                  "fc2": dense(b + "mlp.fc2")}}
  return params


@pytest.mark.parametrize("pooling,timm_pool", [("cls", "token"), ("mean", "avg")])
def test_logits_match_timm(pooling, timm_pool):
  torch = pytest.importorskip("torch")
  timm = pytest.importorskip("timm")
  torch.manual_seed(0)
  ref = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=16, patch_size=4,
                          embed_dim=32, depth=2, num_heads=2, num_classes=7,
                          global_pool=timm_pool, fc_norm=False).eval()
  # fc_norm=False: timm then normalises before pooling, as ours (its default for "avg" pools
  # first and normalises after, the MAE fine-tuning head).
  with torch.no_grad():  # timm zero-initialises the head; random values test it too.
    for p in ref.parameters():
      p.add_(0.1 * torch.randn_like(p))
  x = np.random.default_rng(0).standard_normal((3, 16, 16, 3)).astype(np.float32)
  with torch.no_grad():
    want = ref(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
  model = get_model("vit_test", num_classes=7, pooling=pooling)
  params = _from_timm(ref.state_dict(), depth=2)
  expected = jax.tree.structure(_shapes(model, (16, 16, 3))["params"])
  assert jax.tree.structure(params) == expected
  got = np.asarray(model.apply({"params": params}, jnp.asarray(x)))
  assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4
