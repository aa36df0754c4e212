"""LeNet-5 against the numbers and connection table of LeCun et al. (1998)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxvision import models
from jaxvision.models.lenet import SparseC3
from jaxvision.train.state import count_params

# Section II.B of the paper: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164 trainable
# parameters; our output layer is dense 84 -> 10 (850) in place of the fixed RBF codes.
PAPER_COUNTS = 156 + 12 + 1516 + 32 + 48120 + 10164 + 84 * 10 + 10

# Table I of the paper, transcribed as an X-grid: row i (S2 map) lists the C3 maps it feeds.
TABLE_I = [
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
]


def test_parameter_count_matches_paper():
  model = models.get_model("lenet5", num_classes=10)
  variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 32, 32, 1)))
  assert count_params(variables["params"]) == PAPER_COUNTS == 60850


def test_relu_variant_shapes_and_count():
  model = models.get_model("lenet5_relu", num_classes=10)
  variables = model.init(jax.random.key(0), jnp.zeros((2, 32, 32, 1)))
  # Dense C3 (5*5*6*16 + 16 = 2,416) and no trainable subsampling.
  assert count_params(variables["params"]) == 156 + 2416 + 48120 + 10164 + 850
  assert model.apply(variables, jnp.zeros((3, 32, 32, 1))).shape == (3, 10)


def test_c3_connections_follow_table_one():
  layer = SparseC3()
  x = jax.random.normal(jax.random.key(1), (1, 14, 14, 6))
  params = layer.init(jax.random.key(2), x)
  # d(sum of C3 map j) / d(S2 map i) is nonzero exactly where Table I has an X.
  jac = jax.jacobian(lambda v: jnp.sum(layer.apply(params, v), axis=(0, 1, 2)))(x)
  connected = np.abs(np.asarray(jac)).sum(axis=(1, 2, 3)) > 0  # (16 outputs, 6 inputs)
  expected = np.array([[c == "X" for c in row] for row in TABLE_I]).T
  np.testing.assert_array_equal(connected, expected)


def test_too_small_input_is_a_clear_error():
  model = models.get_model("lenet5", num_classes=10)
  with pytest.raises(ValueError, match="at least 32x32"):
    model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))


def test_unknown_model_lists_names():
  with pytest.raises(KeyError, match="lenet5"):
    models.get_model("lenet6")


def test_dropout_off_by_default_and_active_only_in_training():
  x = jax.random.normal(jax.random.key(1), (4, 32, 32, 1))
  plain = models.get_model("lenet5", num_classes=10)
  variables = plain.init(jax.random.key(0), x)
  # Default: the paper's network, identical in train and eval mode, no dropout rng needed.
  np.testing.assert_array_equal(plain.apply(variables, x, train=True),
                                plain.apply(variables, x, train=False))
  dropped = models.get_model("lenet5", num_classes=10, dropout_rate=0.5)
  np.testing.assert_array_equal(dropped.apply(variables, x, train=False),
                                plain.apply(variables, x, train=False))
  a, b = (dropped.apply(variables, x, train=True, rngs={"dropout": jax.random.key(s)})
          for s in (0, 1))
  assert not np.allclose(a, b)
