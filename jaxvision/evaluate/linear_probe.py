"""Linear probe: L2-regularised multinomial logistic regression on frozen features.

The protocol of SimCLR's linear evaluation on small datasets (Chen et al. 2020, appendix B.5:
"an l2-regularized multinomial logistic regression classifier on features extracted from the
frozen pretrained network ... L-BFGS ... no data augmentation", the regularisation chosen on a
validation split), and the usual reading of "linear probe" for CIFAR-sized data:

- features standardised with the training split's mean and std (a random encoder's features
  can have any scale; L-BFGS and one L2 grid then suit every encoder alike);
- full-batch L-BFGS (optax.lbfgs, zoom line search) in JAX on the softmax cross-entropy plus
  (l2 / 2) * ||W||^2 (the bias is not decayed). Full-batch and deterministic: the probe is a
  convex problem, so the result is a property of the features, not of an SGD schedule;
- l2 picked from a grid by accuracy on a fixed held-out part of the training split, then the
  probe is refit on the whole training split with that l2 and scored on the test split.

Why not sklearn: the same L-BFGS, but single-threaded float64 on 60,000 x 784 raw pixels it
takes minutes per fit; the JAX version runs the matmuls in float32 on whatever device there is.
Full batch needs the features in memory: fine up to a few million x a few thousand floats
(ImageNet's linear evaluation is instead SGD on augmented crops, not provided here).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

DEFAULT_L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2)


def standardize(train, *others, eps: float = 1e-6):
  """(x - mean_train) / (std_train + eps) for train and every other array, float32."""
  train = np.asarray(train, np.float32)
  mean = train.mean(axis=0)
  std = train.std(axis=0) + eps
  return tuple((np.asarray(x, np.float32) - mean) / std for x in (train, *others))


def _loss(params, x, y, l2):
  logits = x @ params["w"] + params["b"]
  ce = jnp.mean(jax.nn.logsumexp(logits, axis=-1) -
                jnp.take_along_axis(logits, y[:, None], axis=-1)[:, 0])
  return ce + 0.5 * l2 * jnp.sum(params["w"] ** 2)


@functools.partial(jax.jit, static_argnames=("num_classes", "max_iter"))
def _fit(x, y, l2, *, num_classes: int, max_iter: int, tol):
  fun = lambda p: _loss(p, x, y, l2)
  opt = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(fun)

  def step(carry):
    params, state = carry
    value, grad = value_and_grad(params, state=state)
    updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=fun)
    return optax.apply_updates(params, updates), state

  def keep_going(carry):
    _, state = carry
    count = otu.tree_get(state, "count")
    grad_norm = otu.tree_norm(otu.tree_get(state, "grad"))  # L2; tree_l2_norm is deprecated
    return (count == 0) | ((count < max_iter) & (grad_norm >= tol))

  init = {"w": jnp.zeros((x.shape[1], num_classes), jnp.float32),
          "b": jnp.zeros((num_classes,), jnp.float32)}
  params, state = jax.lax.while_loop(keep_going, step, (init, opt.init(init)))
  return params, otu.tree_get(state, "count")


def fit_logistic_regression(x, y, *, num_classes: int, l2: float, max_iter: int = 500,
                            tol: float = 1e-5):
  """Minimises mean softmax cross-entropy + (l2 / 2) ||W||^2 over (W, b) by L-BFGS.

  x: (N, D) float features (standardise them first); y: (N,) int labels in [0, num_classes).
  Returns ({'w': (D, K), 'b': (K,)}, iterations run). Starts from zeros, so it is
  deterministic; stops at max_iter or when the gradient norm falls below tol.
  """
  params, count = _fit(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32),
                       jnp.float32(l2), num_classes=num_classes, max_iter=max_iter,
                       tol=jnp.float32(tol))
  return params, int(count)


def accuracy(params, x, y) -> float:
  logits = jnp.asarray(x, jnp.float32) @ params["w"] + params["b"]
  return float(jnp.mean(jnp.argmax(logits, -1) == jnp.asarray(y)))


def linear_probe(train_x, train_y, test_x, test_y, *, num_classes: int,
                 l2_grid=DEFAULT_L2_GRID, val_fraction: float = 0.1, max_iter: int = 500,
                 seed: int = 0) -> dict:
  """Standardise, choose l2 on a held-out part of train, refit on all of train, test.

  Returns {'accuracy': test top-1, 'l2': the chosen l2, 'val_accuracy': its held-out
  accuracy, 'iterations': L-BFGS iterations of the final fit}. With one l2 in the grid the
  selection is skipped.
  """
  train_x, test_x = standardize(train_x, test_x)
  train_y, test_y = np.asarray(train_y), np.asarray(test_y)
  l2_grid = tuple(float(v) for v in l2_grid)
  out = {}
  if len(l2_grid) > 1:
    order = np.random.default_rng(seed).permutation(len(train_y))
    n_val = max(1, int(round(val_fraction * len(train_y))))
    val, fit = order[:n_val], order[n_val:]
    scores = []
    for l2 in l2_grid:
      params, _ = fit_logistic_regression(train_x[fit], train_y[fit], num_classes=num_classes,
                                          l2=l2, max_iter=max_iter)
      scores.append(accuracy(params, train_x[val], train_y[val]))
    best = int(np.argmax(scores))  # ties go to the smaller l2, the earlier grid entry
    out["val_accuracy"] = scores[best]
    l2 = l2_grid[best]
  else:
    l2 = l2_grid[0]
  params, iterations = fit_logistic_regression(train_x, train_y, num_classes=num_classes,
                                               l2=l2, max_iter=max_iter)
  return dict(out, accuracy=accuracy(params, test_x, test_y), l2=l2, iterations=iterations)
