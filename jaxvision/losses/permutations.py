"""Maximal-Hamming permutation sets: the classes of the jigsaw pretext task.

Noroozi & Favaro (2016, sec. 3.3, Algorithm 1) choose the puzzle classes greedily: start
from one random permutation of the tiles, then repeatedly add the permutation whose Hamming
distance to the permutations chosen so far is largest. Their released code (and the
PyTorch port's select_permutations.py) scores a candidate by the *mean* distance to the
chosen set; criterion='min' scores it by the *minimum* distance instead (ties broken by the
mean), which maximises the set's minimum distance, the quantity that bounds how close two
puzzle classes can be. Only the first permutation is random, so the set is a function of
(number, tiles, criterion, seed).

Two closed-form facts bound what any generator can reach (used by the tests):
- Singleton bound for permutation codes: a set of M permutations of n elements with minimum
  distance d has M <= n! / (d - 1)!, so e.g. 100 permutations of 9 tiles have d <= 7.
- Gilbert-Varshamov argument for the 'min' greedy: while M * |B(d - 1)| < n!, where B(r)
  is the Hamming ball of radius r, some unchosen permutation is at distance >= d from all
  chosen ones, so the greedy keeps minimum distance >= d.

NumPy only, so the data side and the objective can both build the set.
"""

import itertools
import math
from typing import NamedTuple

import numpy as np

CRITERIA = ("mean", "min")
# 10! = 3.6M candidates x 10 bytes is still fine; 11! is not, and a 3x3 grid needs 9.
MAX_TILES = 10


class PermutationSet(NamedTuple):
  perms: np.ndarray        # [num_permutations, num_tiles] int32; row i is class i
  min_distance: int        # smallest Hamming distance between two rows
  mean_distance: float     # mean Hamming distance over all pairs of rows


def hamming_ball_size(n: int, radius: int) -> int:
  """Permutations of n elements within Hamming distance `radius` of a fixed one.

  sum_k C(n, k) * D_k, with D_k the number of derangements of k elements (the k positions
  that differ must be permuted among themselves with no fixed point).
  """
  derangements = [1, 0]
  for k in range(2, n + 1):
    derangements.append((k - 1) * (derangements[-1] + derangements[-2]))
  return sum(math.comb(n, k) * derangements[k] for k in range(min(radius, n) + 1))


def greedy_min_distance_guarantee(n: int, num_permutations: int) -> int:
  """The largest d for which the Gilbert-Varshamov argument guarantees the 'min' greedy."""
  d = 1
  while d < n and (num_permutations - 1) * hamming_ball_size(n, d) < math.factorial(n):
    d += 1
  return d


def singleton_bound(n: int, num_permutations: int) -> int:
  """The largest d with num_permutations <= n! / (d - 1)!: no set can do better."""
  d = n
  while math.factorial(n) // math.factorial(d - 1) < num_permutations:
    d -= 1
  return d


def maximal_hamming_set(num_permutations: int, *, num_tiles: int = 9, seed: int = 0,
                        criterion: str = "mean") -> PermutationSet:
  """The greedy maximal-Hamming-distance permutation set; deterministic in its arguments."""
  if criterion not in CRITERIA:
    raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
  if not 2 <= num_tiles <= MAX_TILES:
    raise ValueError(f"num_tiles must be in [2, {MAX_TILES}], got {num_tiles}")
  total = math.factorial(num_tiles)
  if not 1 <= num_permutations <= total:
    raise ValueError(f"num_permutations must be in [1, {total}] for {num_tiles} tiles, "
                     f"got {num_permutations}")
  candidates = np.array(list(itertools.permutations(range(num_tiles))), np.int8)
  columns = np.ascontiguousarray(candidates.T)  # one contiguous row per tile position: fast
  # Running distance of every candidate to the chosen set: sum (for the mean) and minimum.
  dist_sum = np.zeros(total, np.int64)
  dist_min = np.full(total, num_tiles + 1, np.int64)
  chosen = np.zeros(total, bool)
  order = []
  j = int(np.random.default_rng(seed).integers(total))
  for _ in range(num_permutations):
    order.append(j)
    chosen[j] = True
    d = np.zeros(total, np.int64)
    for position, value in enumerate(candidates[j]):
      d += columns[position] != value
    dist_sum += d
    np.minimum(dist_min, d, out=dist_min)
    if criterion == "mean":
      score = dist_sum.copy()
    else:  # min first, then mean; dist_sum < (num_tiles + 1) * total bounds the tie-break
      score = dist_min * ((num_tiles + 1) * num_permutations + 1) + dist_sum
    score[chosen] = -1
    j = int(np.argmax(score))  # ties: the first in lexicographic order, as np.argmax does
  perms = candidates[order].astype(np.int32)
  return PermutationSet(perms, *set_distances(perms))


def set_distances(perms: np.ndarray) -> tuple[int, float]:
  """(minimum, mean) pairwise Hamming distance of a permutation set."""
  m = len(perms)
  if m < 2:
    return perms.shape[1], float(perms.shape[1])
  d = np.count_nonzero(perms[:, None, :] != perms[None, :, :], axis=-1)
  upper = d[np.triu_indices(m, k=1)]
  return int(upper.min()), float(upper.mean())
