"""The model zoo: output shapes of every registered model, exact parameter counts, auxiliary
heads, dense evaluation, and a few real forward passes on tiny inputs.

Shapes and counts use jax.eval_shape, so no memory or compute is spent on big models.
Expected counts are published numbers: torchvision's model docs, timm, the papers, and
akamaster's CIFAR ResNet table -- not values read back from this code.
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision.models import CLASSIFIERS, MODELS, get_model
from jaxvision.models.layers import num_params


def key(seed):
  """'rbg' keys: threefry's per-shape kernels take seconds each to compile on a small CPU."""
  return jax.random.key(seed, impl="rbg")

PUBLISHED_PARAMS = {
    # torchvision (1000 classes).
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    # timm seresnet50.
    "se_resnet50": 28_088_024,
    # He et al. CIFAR ResNets (option A: shortcuts are parameter-free), 10 classes.
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "plain20": 269_722,
    "plain56": 853_018,
    # WRN-28-2 of MixMatch/FixMatch ("1.5M"; 1,467,610 in the PyTorch reproductions).
    "wrn28_2": 1_467_610,
}


def _variables(model, shape, batch=1):
  x = jax.ShapeDtypeStruct((batch,) + tuple(shape), jnp.float32)
  return jax.eval_shape(lambda x: model.init(key(0), x), x), x


@pytest.mark.parametrize("name,expected", sorted(PUBLISHED_PARAMS.items()))
def test_parameter_counts(name, expected):
  variables, _ = _variables(get_model(name), MODELS[name].input_shape)
  assert num_params(variables["params"]) == expected


@pytest.mark.parametrize("name,with_aux,without_aux", [
    ("googlenet", 13_004_888, 6_624_904),
    ("inception_v3", 27_161_264, 23_834_568),
])
def test_parameter_counts_with_and_without_aux(name, with_aux, without_aux):
  shape = MODELS[name].input_shape
  assert num_params(_variables(get_model(name), shape)[0]["params"]) == with_aux
  model = get_model(name, aux_logits=False)
  assert num_params(_variables(model, shape)[0]["params"]) == without_aux


def test_bam_resnet50_matches_paper_table():
  # Park et al. 2018, Table 5: ResNet50 + BAM, 25.92M parameters.
  variables, _ = _variables(get_model("bam_resnet50"), (224, 224, 3))
  assert round(num_params(variables["params"]) / 1e4) == 2592


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_output_shape_of_every_classifier(name):
  spec = MODELS[name]
  model = get_model(name)
  variables, x = _variables(model, spec.input_shape, batch=2)
  logits = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables, x)
  num_classes = getattr(model, "num_classes", None)
  chex.assert_shape(logits, (2, num_classes))
  assert jnp.issubdtype(logits.dtype, jnp.floating)


@pytest.mark.parametrize("name,norm", [("resnet18", "group"), ("resnet20", "layer"),
                                       ("vgg11", "instance"), ("googlenet", "group"),
                                       ("bam_resnet20", "instance"), ("wrn28_2", "group")])
def test_norm_choice_removes_batch_stats(name, norm):
  spec = MODELS[name]
  variables, _ = _variables(get_model(name, norm=norm, num_classes=7), spec.input_shape)
  assert "batch_stats" not in variables
  # Same parameter layout (scale/bias per channel) as with BatchNorm.
  reference, _ = _variables(get_model(name, norm="batch", num_classes=7), spec.input_shape)
  assert (jax.tree.structure(variables["params"]) ==
          jax.tree.structure(reference["params"]))


@pytest.mark.parametrize("name,aux_names", [("googlenet", ("aux1", "aux2")),
                                            ("inception_v3", ("AuxLogits",))])
def test_aux_heads_in_training_only(name, aux_names):
  spec = MODELS[name]
  model = get_model(name, num_classes=11)
  variables, x = _variables(model, spec.input_shape, batch=2)
  assert all(n in variables["params"] for n in aux_names)
  rngs = {"dropout": key(1)}
  train_out, _ = jax.eval_shape(
      lambda v, x: model.apply(v, x, train=True, rngs=rngs, mutable=["batch_stats"]),
      variables, x)
  logits, aux = train_out
  chex.assert_shape(logits, (2, 11))
  assert len(aux) == len(aux_names)
  chex.assert_shape(list(aux), (2, 11))
  # Eval returns plain logits, and never touches the heads: it runs without their params.
  stripped = {**variables,
              "params": {k: v for k, v in variables["params"].items() if k not in aux_names},
              "batch_stats": {k: v for k, v in variables["batch_stats"].items()
                              if k not in aux_names}}
  chex.assert_shape(jax.eval_shape(lambda v, x: model.apply(v, x), stripped, x), (2, 11))
  # Without aux heads, training returns plain logits too.
  no_aux = get_model(name, num_classes=11, aux_logits=False)
  variables, _ = _variables(no_aux, spec.input_shape, batch=2)
  out, _ = jax.eval_shape(
      lambda v, x: no_aux.apply(v, x, train=True, rngs=rngs, mutable=["batch_stats"]),
      variables, x)
  chex.assert_shape(out, (2, 11))


@pytest.mark.parametrize("name", ["alexnet_tiny", "vgg_tiny"])
def test_dense_evaluation_equals_fc_head_at_224(name):
  model = get_model(name, num_classes=5)
  x = jax.random.normal(key(2), (1, 224, 224, 3))
  variables = jax.jit(model.init)(key(0), x)
  fc = jax.jit(model.apply)(variables, x)
  dense_model = get_model(name, num_classes=5, dense_eval=True)
  dense = jax.jit(dense_model.apply)(variables, x)
  chex.assert_trees_all_close(dense, fc, rtol=1e-4, atol=1e-5)
  # A larger, non-square image gives a score map that is averaged into one vector.
  bigger = jax.eval_shape(lambda v, x: dense_model.apply(v, x), variables,
                          jax.ShapeDtypeStruct((2, 288, 256, 3), jnp.float32))
  chex.assert_shape(bigger, (2, 5))


@pytest.mark.parametrize("name", ["alexnet", "vgg16"])
def test_dense_evaluation_reuses_the_fc_parameters(name):
  spec = MODELS[name]
  fc, _ = _variables(get_model(name), spec.input_shape)
  dense, _ = _variables(get_model(name, dense_eval=True), spec.input_shape)
  assert jax.tree.map(lambda a: a.shape, fc) == jax.tree.map(lambda a: a.shape, dense)


def test_torchvision_names():
  """A sample of the names weight import addresses (torchvision state_dict keys, dots
  turned into underscores within one module level)."""
  def names(name, **kw):
    variables, _ = _variables(get_model(name, **kw), MODELS[name].input_shape)
    return variables["params"]
  p = names("resnet50")
  assert {"conv1", "bn1", "layer1_0", "layer4_2", "fc"} <= set(p)
  assert {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample_0",
          "downsample_1"} == set(p["layer1_0"])
  assert p["layer2_0"]["conv2"]["kernel"].shape == (3, 3, 128, 128)  # Stride on the 3x3.
  assert set(names("se_resnet50")["layer1_0"]["se"]) == {"fc1", "fc2"}
  assert {"features_0", "features_28", "classifier_0", "classifier_6"} <= set(names("vgg16"))
  assert {"features_1", "features_41"} <= set(names("vgg16_bn"))  # BN slots.
  g = names("googlenet")
  assert set(g["inception3a"]) == {"branch1", "branch2_0", "branch2_1", "branch3_0",
                                   "branch3_1", "branch4_1"}
  assert g["inception3a"]["branch3_1"]["conv"]["kernel"].shape == (3, 3, 16, 32)
  assert set(g["aux1"]) == {"conv", "fc1", "fc2"}
  assert {"Conv2d_1a_3x3", "Mixed_5b", "Mixed_7c", "AuxLogits", "fc"} <= set(
      names("inception_v3"))


def _train_step(model, x):
  variables = jax.jit(model.init)(key(0), x)
  out, updates = jax.jit(functools.partial(model.apply, train=True, mutable=["batch_stats"]))(
      variables, x, rngs={"dropout": key(1)})
  return variables, out, updates


@pytest.mark.parametrize("name", ["resnet20", "bam_resnet20", "se_resnet20"])
def test_cifar_forward_trains_and_updates_batch_stats(name):
  model = get_model(name)
  x = jax.random.normal(key(3), (4, 32, 32, 3))
  variables, logits, updates = _train_step(model, x)
  chex.assert_shape(logits, (4, 10))
  chex.assert_tree_all_finite(logits)
  # Every ResNet BatchNorm sees data-dependent statistics. (BAM's channel branch may not:
  # at 16 channels its MLP has one hidden unit, which a random init can leave dead.)
  before, after = variables["batch_stats"], updates["batch_stats"]
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, after)
  assert all(jax.tree.leaves({k: v for k, v in changed.items() if not k.startswith("bam")}))
  logits_eval = jax.jit(model.apply)({**variables, **updates}, x)
  chex.assert_tree_all_finite(logits_eval)


def test_nin_forward_and_dropout_only_in_training():
  model = get_model("nin")
  x = jax.random.normal(key(4), (2, 32, 32, 3))
  variables = jax.jit(model.init)(key(0), x)
  apply = jax.jit(model.apply, static_argnames="train")
  a = apply(variables, x)
  chex.assert_shape(a, (2, 10))
  np.testing.assert_array_equal(a, apply(variables, x))
  t1 = apply(variables, x, train=True, rngs={"dropout": key(1)})
  t2 = apply(variables, x, train=True, rngs={"dropout": key(2)})
  assert not np.allclose(t1, t2)


def test_bfloat16_compute_keeps_float32_params():
  model = get_model("resnet20", dtype=jnp.bfloat16)
  x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
  variables = jax.eval_shape(model.init, key(0), x)
  assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(variables))
  assert jax.eval_shape(model.apply, variables, x).dtype == jnp.bfloat16
