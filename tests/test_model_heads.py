"""Each model's spec names its classifier heads: the layers whose width is the class count.

Checked from the outside: built with num_classes=7, the Dense/Conv layers whose kernels end
in 7 outputs are exactly the spec's heads (shapes only, jax.eval_shape: nothing is run).
Fine-tuning (init_from, import-weights) re-initialises these and keeps the rest, so a wrong
name breaks it; the old name-pattern rule had alexnet_2012, alexnet_tiny, vgg_tiny and
googlenet_2014 wrong.
"""

import jax
import jax.numpy as jnp
import pytest

from jaxvision import models
from jaxvision.weights.export import head_modules

# One model per family, plus each one the old rule got wrong.
NAMES = ["alexnet_tiny", "alexnet_2012_tiny", "vgg_tiny", "vgg11_lrn", "lenet5", "nin",
         "vit_test", "resnet20", "resnet18", "wrn28_2", "se_resnet20", "bam_resnet20",
         "googlenet", "googlenet_2014", "bn_inception", "inception_v3"]


def layers_with_seven_outputs(name):
  h, w, c = models.default_input_shape(name)
  model = models.get_model(name, num_classes=7)
  shapes = jax.eval_shape(lambda: model.init(
      {"params": jax.random.key(0), "dropout": jax.random.key(1)}, jnp.zeros((1, h, w, c)),
      train=False))
  return {"/".join(k.key for k in path[:-1])
          for path, leaf in jax.tree_util.tree_leaves_with_path(shapes["params"])
          if path[-1].key == "kernel" and leaf.shape[-1] == 7}


@pytest.mark.parametrize("name", NAMES)
def test_the_spec_heads_are_the_class_count_layers(name):
  assert set(head_modules(name)) == layers_with_seven_outputs(name)
