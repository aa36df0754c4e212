"""Jigsaw puzzles (Noroozi & Favaro 2016): cut the image into a grid of tiles, shuffle them by
one permutation of a fixed set, and predict which permutation it was.

Per image and step (all on device, from the step's rng):
1. The image of the "single" stream (data.image_size square, augmented as data.augment
   says; for ImageNet a random 225 or 224 crop, the paper's "randomly crop a 225x225
   window") is divided into grid x grid cells of side c = image_size // grid (the centre
   grid*c square; c = 75 for 225).
2. From each cell a tile of side t < c is cut at a uniformly random offset in [0, c - t]^2:
   the gap between neighbouring tiles and their random jitter keep the network from
   solving the puzzle by continuing edges and lines across tile borders (the paper's
   64x64 tiles in 75x75 cells; the released prototxt cuts 64 from 85 with 21 jitter).
3. The model normalises each tile on its own (JigsawNet.normalize_tiles, the PyTorch port's
   guard against matching tiles by low-level colour statistics; its features() normalises
   whole images the same way, so the probe sees what the encoder was trained on).
4. A permutation index p is drawn uniformly per image; puzzle position i shows tile
   perms[p][i] (the released loaders' convention), so tile k is at position argsort(perms[p])[k].
5. JigsawNet (jaxvision/models/jigsaw.py) encodes every tile with one shared encoder and
   classifies p; the loss is the cross-entropy.

Why on device and not a tf.data view: the tiles are a crop-and-gather of the image the
"single" stream already delivers, so there is no new stream to keep deterministic
(the step rng is a function of (seed, step), so resume sees the same puzzles), it works
for every data source and augmentation unchanged, the permutation set lives next to the
head whose classes it defines, and the host never materialises 9 tiles per image. The
stream's class labels travel along but are never read: the loss only uses the drawn p.

The permutation set (jaxvision/losses/permutations.py) is generated from
(model.permutations, grid^2, jigsaw.permutation_seed, jigsaw.criterion); `prepare_workdir`
writes it to WORKDIR/permutations.npy at train start and, on resume, refuses to go on if
the file differs from what the config makes (the classes would silently change meaning).

Config (`config.jigsaw`, all optional): grid (3), tile_size (0: round(c * 64 / 75), the
paper's ratio), permutation_seed (0), criterion ('min': maximise
the minimum Hamming distance, or 'mean': the released code's average-distance rule).
The number of permutations is the model's output width: `model.permutations` of the
'jigsaw' model (jaxvision/models/jigsaw.py), its `num_classes`.
"""

import dataclasses
import functools
import math
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxvision import losses
from jaxvision.errors import UserError
from jaxvision.losses.permutations import CRITERIA, maximal_hamming_set
from jaxvision.objectives.supervised import apply_model

PERMUTATIONS_FILE = "permutations.npy"


def tile_geometry(image_size: int, grid: int, tile_size: int = 0) -> tuple[int, int, int]:
  """(cell, tile, margin): cell side, tile side, and the offset of the grid in the image."""
  cell = image_size // grid
  tile = tile_size or max(1, round(cell * 64 / 75))
  if not 1 <= tile <= cell:
    raise UserError(f"jigsaw.tile_size={tile} does not fit the {cell}-pixel cells of a "
                    f"{image_size}-pixel image cut {grid}x{grid}; use 1..{cell}")
  return cell, tile, (image_size - grid * cell) // 2


def cut_tiles(images, offsets, *, grid: int, tile: int):
  """Tiles (N, grid^2, tile, tile, C) in reading order.

  images (N, S, S, C); offsets (N, grid^2, 2) int, the (row, column) of each tile inside its
  cell, each in [0, cell - tile].
  """
  n, size, _, ch = images.shape
  cell, _, margin = tile_geometry(size, grid, tile)
  r, c = np.divmod(np.arange(grid * grid), grid)
  corners = jnp.asarray(np.stack([r, c], -1) * cell + margin)            # (T, 2)
  starts = corners[None] + offsets                                       # (N, T, 2)

  def one(image, start):
    return jax.lax.dynamic_slice(image, (start[0], start[1], 0), (tile, tile, ch))

  return jax.vmap(jax.vmap(one, in_axes=(None, 0)))(images, starts)


def shuffle_tiles(tiles, perm_rows):
  """Position i of puzzle n shows tile perm_rows[n, i]: (N, T, ...) gathered along T."""
  index = perm_rows.reshape(perm_rows.shape + (1,) * (tiles.ndim - 2))
  return jnp.take_along_axis(tiles, index, axis=1)


@functools.lru_cache(maxsize=8)
def _permutation_set(num: int, tiles: int, seed: int, criterion: str):
  # 1000 of 9! takes seconds: build it once per process, not per evaluation.
  pset = maximal_hamming_set(num, num_tiles=tiles, seed=seed, criterion=criterion)
  return tuple(map(tuple, pset.perms.tolist()))


@dataclasses.dataclass(frozen=True)
class Jigsaw:
  model: nn.Module
  perms: tuple[tuple[int, ...], ...]   # a tuple so the objective stays hashable
  grid: int = 3
  tile_size: int = 0
  permutation_seed: int = 0
  criterion: str = "min"
  train_stream = "single"
  evaluation = "representation"

  @classmethod
  def from_config(cls, model, config):
    s = config.get("jigsaw", None) or {}
    grid = int(s.get("grid", getattr(model, "grid", 3)))
    if getattr(model, "grid", grid) != grid:
      raise UserError(f"jigsaw.grid={grid} but model.grid={model.grid}; set both the same")
    criterion = s.get("criterion", "min")
    if criterion not in CRITERIA:
      raise UserError(f"jigsaw.criterion must be one of {', '.join(CRITERIA)}, "
                      f"got {criterion!r}")
    num = int(getattr(model, "num_classes", 0))
    tiles = grid * grid
    if not 2 <= tiles <= 10:
      raise UserError(f"jigsaw.grid={grid} gives {tiles} tiles; use grid 2 or 3")
    if not 1 <= num <= math.factorial(tiles):
      raise UserError(f"{num} permutations (model.permutations) is not in [1, {tiles}!] for "
                      f"a {grid}x{grid} grid; set model.permutations to at most "
                      f"{math.factorial(tiles)}")
    seed = int(s.get("permutation_seed", 0))
    return cls(model=model, perms=_permutation_set(num, tiles, seed, criterion), grid=grid,
               tile_size=int(s.get("tile_size", 0)), permutation_seed=seed,
               criterion=criterion)

  @property
  def permutations(self) -> np.ndarray:
    return np.asarray(self.perms, np.int32)

  def init_inputs(self, input_shape):
    _, tile, _ = tile_geometry(input_shape[0], self.grid, self.tile_size)
    return (jnp.zeros((2, self.grid * self.grid, tile, tile, input_shape[-1]), jnp.float32),)

  def make_puzzles(self, images, rng):
    """(tiles (N, T, t, t, C) shuffled, labels (N,)) for a batch of square images."""
    size = images.shape[1]
    cell, tile, _ = tile_geometry(size, self.grid, self.tile_size)
    n, t = images.shape[0], self.grid * self.grid
    perm_rng, crop_rng = jax.random.split(rng)
    labels = jax.random.randint(perm_rng, (n,), 0, len(self.perms))
    offsets = jax.random.randint(crop_rng, (n, t, 2), 0, cell - tile + 1)
    tiles = cut_tiles(images, offsets, grid=self.grid, tile=tile)
    return shuffle_tiles(tiles, jnp.asarray(self.permutations)[labels]), labels

  def loss_fn(self, params, model_state, batch, rng, step):
    del step  # no schedule inside this loss
    puzzle_rng, dropout_rng = jax.random.split(rng)
    tiles, labels = self.make_puzzles(batch["image"], puzzle_rng)
    logits, new_state = apply_model(self.model, params, model_state, tiles, train=True,
                                    rng=dropout_rng)
    loss = losses.softmax_cross_entropy(logits, labels)
    accuracy = jnp.mean((jnp.argmax(logits, -1) == labels).astype(jnp.float32))
    return loss, ({"loss": loss, "accuracy": accuracy}, new_state)

  def prepare_workdir(self, workdir: str) -> str:
    """Writes WORKDIR/permutations.npy, or checks it on resume; returns its path."""
    path = os.path.join(workdir, PERMUTATIONS_FILE)
    perms = self.permutations
    if os.path.exists(path):
      saved = np.load(path)
      if saved.shape != perms.shape or not np.array_equal(saved, perms):
        raise UserError(
            f"{path} holds another permutation set ({saved.shape[0]} of {saved.shape[-1]} "
            f"tiles) than this config makes ({perms.shape[0]} of {perms.shape[1]}, "
            f"permutation_seed={self.permutation_seed}, criterion={self.criterion!r}): resume "
            "with the settings that started the run, or use a new workdir")
    elif jax.process_index() == 0:
      os.makedirs(workdir, exist_ok=True)
      tmp = path + ".tmp.npy"
      np.save(tmp, perms)
      os.replace(tmp, path)  # never a half-written file a resume would misread
    return path
