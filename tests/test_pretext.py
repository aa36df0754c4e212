"""Flip prediction and jigsaw puzzles: permutation sets, tile cutting, flip views, objectives.

Expectations come from closed forms (Singleton bound, Hamming-ball sizes by enumeration),
plain numpy slicing and brute-force greedy checks, never from the code under test.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.losses.permutations import maximal_hamming_set
from jaxvision.models.jigsaw import jigsaw_net, normalize_each
from jaxvision.objectives import flip as flip_lib
from jaxvision.objectives import jigsaw as jigsaw_lib


def pairwise_hamming(perms):
  perms = np.asarray(perms)
  return [int(np.sum(a != b)) for a, b in itertools.combinations(perms, 2)]


# --------------------------------------------------------------------- permutation sets


@pytest.mark.parametrize("criterion", ["min", "mean"])
def test_permutation_set_size_uniqueness_and_reported_distance(criterion):
  pset = maximal_hamming_set(100, num_tiles=9, seed=3, criterion=criterion)
  perms = pset.perms
  assert perms.shape == (100, 9)
  assert all(sorted(row) == list(range(9)) for row in perms.tolist())  # each a permutation
  assert len({tuple(row) for row in perms.tolist()}) == 100            # no duplicates
  d = pairwise_hamming(perms)
  assert pset.min_distance == min(d)
  assert pset.mean_distance == pytest.approx(np.mean(d))
  # Singleton bound for permutation codes: 100 <= 9! / (d - 1)! forces d <= 7.
  assert min(d) <= max(k for k in range(1, 10) if math.factorial(9) // math.factorial(k - 1) >= 100)
  again = maximal_hamming_set(100, num_tiles=9, seed=3, criterion=criterion)
  np.testing.assert_array_equal(again.perms, perms)  # deterministic in the seed
  assert not np.array_equal(maximal_hamming_set(100, seed=4, criterion=criterion).perms, perms)


def test_min_criterion_meets_the_gilbert_varshamov_guarantee():
  # |B(r)| by enumeration: permutations of 9 with at most r positions moved.
  all_perms = np.array(list(itertools.permutations(range(9))), np.int8)
  moved = np.count_nonzero(all_perms != np.arange(9), axis=1)
  ball = [int(np.sum(moved <= r)) for r in range(10)]
  # Greedy 'min' keeps distance >= d while 99 * |B(d - 1)| < 9!: here d = 5.
  guaranteed = max(d for d in range(1, 10) if 99 * ball[d - 1] < math.factorial(9))
  assert guaranteed == 5
  pset = maximal_hamming_set(100, num_tiles=9, seed=0, criterion="min")
  assert min(pairwise_hamming(pset.perms)) >= guaranteed


@pytest.mark.parametrize("criterion", ["min", "mean"])
def test_each_greedy_pick_is_a_brute_force_maximiser(criterion):
  """On 5 tiles, every chosen permutation maximises the criterion over all unchosen ones."""
  perms = maximal_hamming_set(12, num_tiles=5, seed=1, criterion=criterion).perms
  everything = np.array(list(itertools.permutations(range(5))))
  for k in range(1, len(perms)):
    chosen = {tuple(p) for p in perms[:k]}
    def score(p):
      d = [int(np.sum(p != q)) for q in perms[:k]]
      return (min(d), sum(d)) if criterion == "min" else sum(d)
    best = max(score(p) for p in everything if tuple(p) not in chosen)
    assert score(perms[k]) == best, k


# --------------------------------------------------------------------------- jigsaw tiles


def _reassemble(puzzle_tiles, perm_row, grid):
  """numpy: undo the shuffle with the inverse permutation and lay the tiles out again."""
  inverse = np.argsort(perm_row)             # tile k sits at position inverse[k]
  tiles = puzzle_tiles[inverse]
  t = tiles.shape[1]
  rows = [np.concatenate(list(tiles[r * grid:(r + 1) * grid]), axis=1) for r in range(grid)]
  return np.concatenate(rows, axis=0).reshape(grid * t, grid * t, -1)


def _objective(model=None, **jigsaw):
  config = ml_collections.ConfigDict({"jigsaw": jigsaw})
  model = model or jigsaw_net(encoder="resnet20", permutations=24, grid=jigsaw.get("grid", 3))
  return jigsaw_lib.Jigsaw.from_config(model, config)


def test_tiles_reassembled_with_the_inverse_permutation_give_back_the_image():
  # 32x32 image, 3x3 cells of 10 (centre 30x30, margin 1); tiles = cells: no gap, no jitter.
  obj = _objective(grid=3, tile_size=10)
  images = jax.random.uniform(jax.random.key(0), (4, 32, 32, 3))
  tiles, labels = jax.jit(obj.make_puzzles)(images, jax.random.key(1))
  tiles, labels, images = map(np.asarray, (tiles, labels, images))
  assert tiles.shape == (4, 9, 10, 10, 3)
  assert len(set(labels.tolist())) > 1  # a different puzzle per example
  for n in range(4):
    np.testing.assert_array_equal(_reassemble(tiles[n], obj.permutations[labels[n]], 3),
                                  images[n, 1:31, 1:31])
  # Shuffling really moved the tiles: position i shows cell perms[label][i], not cell i.
  n = int(np.argmax([list(obj.permutations[l]) != list(range(9)) for l in labels]))
  k = int(np.argmax(obj.permutations[labels[n]] != np.arange(9)))
  cell = obj.permutations[labels[n]][k]
  np.testing.assert_array_equal(tiles[n, k], images[n, 1 + (cell // 3) * 10:11 + (cell // 3) * 10,
                                                      1 + (cell % 3) * 10:11 + (cell % 3) * 10])


def test_tiles_with_gap_and_jitter_are_the_numpy_slices_at_their_offsets():
  images = jax.random.uniform(jax.random.key(2), (2, 32, 32, 1))
  offsets = jax.random.randint(jax.random.key(3), (2, 9, 2), 0, 3)  # cell 10, tile 8
  tiles = np.asarray(jigsaw_lib.cut_tiles(images, offsets, grid=3, tile=8))
  images, offsets = np.asarray(images), np.asarray(offsets)
  for n in range(2):
    for k in range(9):
      top = 1 + (k // 3) * 10 + offsets[n, k, 0]
      left = 1 + (k % 3) * 10 + offsets[n, k, 1]
      np.testing.assert_array_equal(tiles[n, k], images[n, top:top + 8, left:left + 8])
  # The default tile keeps the paper's 64/75 ratio: 8 of a 10-pixel cell; 64 of 75.
  assert jigsaw_lib.tile_geometry(32, 3)[:2] == (10, 9)
  assert jigsaw_lib.tile_geometry(225, 3) == (75, 64, 0)
  with pytest.raises(UserError, match="tile_size"):
    jigsaw_lib.tile_geometry(32, 3, 11)


def test_normalised_tiles_have_zero_mean_unit_std():
  tiles = jax.random.uniform(jax.random.key(4), (2, 9, 6, 6, 3)) * 5 + 2
  out = np.asarray(normalize_each(tiles))
  np.testing.assert_allclose(out.mean(axis=(2, 3, 4)), 0, atol=1e-5)
  np.testing.assert_allclose(out.std(axis=(2, 3, 4)), 1, atol=1e-3)


def test_jigsaw_objective_trains_without_labels_and_shares_the_encoder(tmp_path):
  # The configs' small encoder (one block per stage): quick to compile.
  model = jigsaw_net(encoder="resnet20", stages=(1, 1, 1), permutations=24, grid=2, hidden=16)
  obj = _objective(model, grid=2)
  assert obj.permutations.shape == (24, 4)  # all 4! puzzles of a 2x2 grid
  (inputs,) = obj.init_inputs((16, 16, 1))
  assert inputs.shape == (2, 4, 7, 7, 1)   # cell 8 -> tile round(8 * 64 / 75) = 7
  variables = jax.jit(lambda x: model.init(jax.random.key(0), x, train=False))(inputs)
  params, state = variables["params"], {"batch_stats": variables["batch_stats"]}
  # The encoder's parameters are exactly the zoo backbone's without its classifier.
  from jaxvision.models import get_model
  zoo = jax.eval_shape(lambda x: get_model("resnet20", num_classes=10, stages=(1, 1, 1)).init(
      jax.random.key(0), x), jax.ShapeDtypeStruct((1, 16, 16, 1), jnp.float32))
  expected = {k: v for k, v in zoo["params"].items() if k != "fc"}
  assert (jax.tree.map(jnp.shape, params["encoder"]) == jax.tree.map(jnp.shape, expected))
  batch = {"image": jax.random.normal(jax.random.key(1), (4, 16, 16, 1))}  # no 'label' key
  loss, (metrics, new_state) = jax.jit(obj.loss_fn)(params, state, batch, jax.random.key(2), 0)
  # one puzzle per image: the accuracy of 4 puzzles is a count of right answers over 4
  assert np.isfinite(float(loss)) and float(metrics["accuracy"]) * 4 in (0.0, 1.0, 2.0, 3.0, 4.0)
  assert set(new_state) == {"batch_stats"}
  features = jax.jit(lambda v, x: model.apply(v, x, method="features"))
  feats = features(variables, batch["image"])
  assert feats.shape == (4, 64)
  # Whole images are normalised like the tiles: brightness and contrast do not matter.
  np.testing.assert_allclose(features(variables, 3.0 * batch["image"] + 1.0), feats,
                             rtol=1e-4, atol=1e-4)
  # Permutations file: written once, accepted on resume, refused when the set differs.
  path = obj.prepare_workdir(str(tmp_path))
  np.testing.assert_array_equal(np.load(path), obj.permutations)
  obj.prepare_workdir(str(tmp_path))
  other = _objective(model, grid=2, permutation_seed=5)
  if not np.array_equal(other.permutations, obj.permutations):
    with pytest.raises(UserError, match="permutation"):
      other.prepare_workdir(str(tmp_path))
  smaller = _objective(jigsaw_net(encoder="resnet20", permutations=10, grid=2, hidden=16), grid=2)
  with pytest.raises(UserError, match="permutation set"):
    smaller.prepare_workdir(str(tmp_path))


def test_jigsaw_config_mistakes_are_one_line_errors():
  with pytest.raises(UserError, match="model.permutations"):
    _objective(jigsaw_net(permutations=25, grid=2), grid=2)  # 25 > 4!
  with pytest.raises(UserError, match="criterion"):
    _objective(grid=3, criterion="max")
  with pytest.raises(UserError, match="grid"):
    _objective(jigsaw_net(permutations=24, grid=2), grid=3)


# ------------------------------------------------------------------------------- flips


def test_flip_views_move_a_corner_pixel_where_each_flip_sends_it():
  h, w = 5, 7  # non-square, so a row/column mix-up would show
  images = np.zeros((2, h, w, 1), np.float32)
  images[0, 0, 0] = 1.0      # top-left
  images[1, 1, 5] = 1.0      # an off-centre pixel: row 1, column 5
  views = np.asarray(flip_lib.flip_batch(jnp.asarray(images)))
  labels = np.asarray(flip_lib.flip_targets(2, 4))
  np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2, 3, 3])
  expected = {0: [(0, 0), (1, 5)],                    # none
              1: [(0, w - 1), (1, w - 1 - 5)],        # horizontal: column mirrored
              2: [(h - 1, 0), (h - 1 - 1, 5)],        # vertical: row mirrored
              3: [(h - 1, w - 1), (h - 2, w - 6)]}    # both
  for k, spots in expected.items():
    for n, (r, c) in enumerate(spots):
      view = views[k * 2 + n, ..., 0]
      assert view[r, c] == 1.0 and view.sum() == 1.0, (k, n)
  # 'both' equals a 180-degree rotation.
  np.testing.assert_array_equal(views[6:8], np.rot90(images, 2, axes=(1, 2)))
  three = np.asarray(flip_lib.flip_batch(jnp.asarray(images), ("none", "horizontal", "vertical")))
  np.testing.assert_array_equal(three, views[:6])


def test_flip_objective_loss_labels_and_config_checks():
  from jaxvision.models import get_model
  model = get_model("lenet5_relu", num_classes=3)
  config = ml_collections.ConfigDict({"flip": {"flips": ("none", "horizontal", "vertical")}})
  obj = flip_lib.FlipPrediction.from_config(model, config)
  images = jax.random.normal(jax.random.key(0), (2, 32, 32, 1))
  variables = jax.jit(model.init)(jax.random.key(1), images)
  loss, (metrics, _) = jax.jit(obj.loss_fn)(variables["params"], {}, {"image": images},
                                            jax.random.key(2), 0)
  # Independent: cross-entropy of the 6 views against [0, 0, 1, 1, 2, 2] in numpy.
  views = np.concatenate([images, images[:, :, ::-1], images[:, ::-1]])
  logits = np.asarray(jax.jit(model.apply)(variables, jnp.asarray(views)), np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  expected = -np.mean(logp[np.arange(6), [0, 0, 1, 1, 2, 2]])
  assert float(loss) == pytest.approx(expected, rel=1e-5)
  assert set(metrics) == {"loss", "accuracy", "accuracy_none", "accuracy_horizontal",
                          "accuracy_vertical"}
  with pytest.raises(UserError, match="3 classes but flip.flips has 4"):
    flip_lib.FlipPrediction.from_config(model, ml_collections.ConfigDict())
  with pytest.raises(UserError, match="unknown flip"):
    flip_lib.FlipPrediction.from_config(model, ml_collections.ConfigDict(
        {"flip": {"flips": ("none", "diagonal", "vertical")}}))
  with pytest.raises(UserError, match="data.augment has 'flip'"):
    flip_lib.FlipPrediction.from_config(model, ml_collections.ConfigDict(
        {"flip": {"flips": ("none", "horizontal", "vertical")},
         "data": {"augment": ("random_crop", "flip")}}))
