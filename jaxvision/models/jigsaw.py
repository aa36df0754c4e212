"""Pretext-task networks: the jigsaw-puzzle net (a shared tile encoder and a permutation
classifier) and the flip-prediction net.

Noroozi & Favaro (2016, sec. 3, "context-free network"): every tile of a 3x3 puzzle goes
through the *same* convolutional tower on its own (so early layers see one tile, never the
seams between tiles), the nine tile features are concatenated in input order, and fully
connected layers predict which permutation of a fixed set shuffled the tiles.

Here the tower is the zoo backbone `model.encoder` built with head=False (its pooled features; the
submodule is named "encoder", so its parameters equal the zoo classifier's minus the head
and `--config.init_from` fine-tunes a classifier from a jigsaw run). The tiles of all puzzles
in a batch run as one (N * T)-image batch through the encoder: one weight set, shared.
The head is the CFN's fc7 -> fc8: Dense(hidden) + ReLU + dropout over the concatenation,
then Dense(num_classes), one logit per permutation.

`num_classes` is the width of the output, as for the SSL wrappers of jaxvision/models/ssl.py:
the number of permutations (the puzzle classes), set by `model.permutations`; the dataset's
class count the loop passes in is ignored. Other `model.*` keys go to the backbone.
Given whole images (N, H, W, C) instead of tiles, `__call__` cuts each into its grid of
cells in reading order (the identity puzzle): that is what `jaxvision models` measures.

`features(x)` runs the encoder on whole images (N, H, W, C): the representation the linear
probe and kNN evaluate, as the CFN's conv layers were transferred to whole-image tasks. The
encoder must take both tile-sized and image-sized inputs: globally pooled backbones (ResNet,
WRN, NiN) do; LeNet-5 needs 32x32 inputs and cannot encode small tiles.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxvision.models.registry import ModelSpec
from jaxvision.models.ssl import PretextNet, backbone


def grid_cells(images, grid: int):
  """(N, H, W, C) -> (N, grid * grid, c, c, C): the centre grid*c square cut into cells of
  side c = min(H, W) // grid, in reading order (row by row)."""
  n, h, w, ch = images.shape
  c = min(h, w) // grid
  top, left = (h - grid * c) // 2, (w - grid * c) // 2
  x = images[:, top:top + grid * c, left:left + grid * c]
  x = x.reshape(n, grid, c, grid, c, ch).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, grid * grid, c, c, ch)


def normalize_each(x, eps: float = 1e-5):
  """Each example of x (N, ...) or tile of x (N, T, h, w, C) to zero mean and unit variance
  over its own pixels and channels."""
  axes = tuple(range(x.ndim - 3, x.ndim))
  mean = jnp.mean(x, axis=axes, keepdims=True)
  std = jnp.std(x, axis=axes, keepdims=True)
  return (x - mean) / (std + eps)


class JigsawNet(nn.Module):
  encoder: nn.Module
  num_classes: int = 100          # the number of permutations: the puzzle classes
  grid: int = 3
  # Each tile normalised on its own (the PyTorch port's guard against matching tiles by
  # low-level statistics); features() then normalises each whole image the same way, so
  # the encoder's batch-norm statistics, gathered on tiles, fit the probed images.
  normalize_tiles: bool = True
  hidden: int = 512               # CFN's fc7 had 4096 for 9 x 1024 tile features
  dropout_rate: float = 0.5       # CFN: dropout after fc6 and fc7
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def features(self, x, *, train: bool = False):
    """Whole images (N, H, W, C) -> the encoder's pooled features (N, D)."""
    if self.normalize_tiles:
      x = normalize_each(x.astype(jnp.float32)).astype(x.dtype)
    return self.encoder(x, train=train)

  @nn.compact
  def __call__(self, tiles, *, train: bool = False):
    """tiles (N, T, h, w, C) in the order the puzzle shows them -> (N, num_classes) logits
    over the permutation set; whole images (N, H, W, C) are cut into grid cells first."""
    if tiles.ndim == 4:
      tiles = grid_cells(tiles, self.grid)
    if tiles.ndim != 5:
      raise ValueError(f"JigsawNet takes tiles (N, T, h, w, C), got shape {tiles.shape}")
    if self.normalize_tiles:
      tiles = normalize_each(tiles.astype(jnp.float32)).astype(tiles.dtype)
    n, t = tiles.shape[:2]
    feats = self.encoder(tiles.reshape(n * t, *tiles.shape[2:]), train=train)
    x = feats.reshape(n, t * feats.shape[-1])
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    x = nn.relu(dense(self.hidden, name="fc7")(x))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return dense(self.num_classes, name="fc8")(x)


def jigsaw_net(*, encoder: str = "resnet20", permutations: int = 100, grid: int = 3,
               normalize_tiles: bool = True, hidden: int = 512, dropout_rate: float = 0.5,
               num_classes: int = 10, dtype=jnp.float32, **encoder_settings) -> JigsawNet:
  del num_classes  # the dataset's classes; the puzzle classes are the permutations
  return JigsawNet(encoder=backbone(encoder, dtype, encoder_settings), num_classes=permutations,
                   grid=grid, normalize_tiles=normalize_tiles, hidden=hidden,
                   dropout_rate=dropout_rate, dtype=dtype)


def flip_net(*, encoder: str = "resnet20", flips: int = 4, num_classes: int = 10,
             dtype=jnp.float32, **encoder_settings) -> PretextNet:
  """Flip prediction (jaxvision/objectives/flip.py): encoder + linear head, one logit per flip."""
  del num_classes  # the dataset's classes; the head has one logit per flip
  return PretextNet(encoder=backbone(encoder, dtype, encoder_settings), num_classes=flips,
                    head_name="flip_head", dtype=dtype)


MODELS = {
    "jigsaw": ModelSpec(jigsaw_net, (32, 32, 3),
                        "Jigsaw puzzles (CFN): model.encoder shared over the tiles, fc7-fc8 "
                        "over their concatenation -> one logit per permutation"),
    "flipnet": ModelSpec(flip_net, (32, 32, 3),
                         "Flip prediction: model.encoder + linear head, one logit per flip"),
}
