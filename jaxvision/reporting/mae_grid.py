"""MAE reconstructions as a PNG: original / masked / reconstructed test images (He et al. 2022,
Figs. 2-4 layout: one column per image, the three rows stacked).

The reconstruction shows the visible patches as they were and the decoder's prediction on
the masked ones, as the paper's figures. With a norm_pix model the prediction is in per-patch
normalised units; it is mapped back with each target patch's own mean and std (what the
reference visualisation does), then the data normalisation is undone for display.

Hook: `write_mae_grid(exp, variables, path)` needs only what an evaluator gets, so the
"representation" evaluator (or the end of training) calls it for MAE runs, e.g.
`if exp.config.objective == "mae": write_mae_grid(exp, variables, workdir/"mae_grid.png")`;
`write_workdir_grid(WORKDIR)` does it from a finished run (the `jaxvision report` hook).
"""

import pathlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxvision import losses  # noqa: E402


class Rows(NamedTuple):
  original: np.ndarray        # (N, H, W, C) in [0, 1]
  masked: np.ndarray          # masked patches greyed out
  reconstruction: np.ndarray  # visible patches + predictions on the masked ones
  mask: np.ndarray            # (N, L), 1 = masked


def reconstruction_rows(model, variables, images, *, mean, std, norm_pix: bool, seed: int = 0,
                        mask_ratio: float = 0.75) -> Rows:
  """Runs the MAE on normalised NHWC `images` with a mask drawn from `seed`."""
  images = jnp.asarray(images, jnp.float32)
  p, c = model.patch_size, images.shape[-1]
  # Jitted: one compile is faster than the eager transformer op by op.
  apply = jax.jit(lambda v, x: model.apply(v, x, train=False, mask_ratio=mask_ratio,
                                           rngs={"mask": jax.random.key(seed)}))
  pred, mask = apply(variables, images)
  target = losses.patchify(images, patch_size=p)
  if norm_pix:  # back from per-patch normalised units, with the loss's (unbiased) variance
    mu = jnp.mean(target, axis=-1, keepdims=True)
    var = jnp.var(target, axis=-1, keepdims=True, ddof=1)
    pred = pred * jnp.sqrt(var + 1e-6) + mu
  m = mask[:, :, None]
  recon = losses.unpatchify(target * (1 - m) + pred * m, patch_size=p, channels=c,
                            height=images.shape[1], width=images.shape[2])
  grey = jnp.zeros_like(target) + (0.5 - np.asarray(mean)[..., :c].mean()) / np.mean(std)
  masked = losses.unpatchify(target * (1 - m) + grey * m, patch_size=p, channels=c,
                             height=images.shape[1], width=images.shape[2])
  show = lambda x: np.clip(np.asarray(x) * np.asarray(std) + np.asarray(mean), 0.0, 1.0)
  return Rows(show(images), show(masked), show(recon), np.asarray(mask))


def save_grid(rows: Rows, path) -> pathlib.Path:
  """Writes the three rows as one PNG; returns the path."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  n = rows.original.shape[0]
  fig, axes = plt.subplots(3, n, figsize=(1.2 * n, 3.8), squeeze=False)
  for r, (label, images) in enumerate((("original", rows.original), ("masked", rows.masked),
                                       ("reconstruction", rows.reconstruction))):
    for i in range(n):
      ax = axes[r, i]
      image = images[i]
      if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
      else:
        ax.imshow(image)
      ax.set_xticks([])
      ax.set_yticks([])
      if i == 0:
        ax.set_ylabel(label, fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def write_mae_grid(exp, variables, path, *, num_images: int = 8, split: str = "test",
                   seed: int = 0) -> pathlib.Path:
  """The first `num_images` images of `split` of the run's data, through the run's MAE."""
  from jaxvision.data import pipeline, views  # TensorFlow only when a grid is drawn

  data = exp.config.data
  batch = next(pipeline.eval_batches(exp.source, views.single_view(data, train=False),
                                     split=split, local_batch=num_images,
                                     max_examples=num_images))
  settings = exp.config.get("mae", None) or {}
  rows = reconstruction_rows(exp.model, variables, batch["image"], mean=tuple(data.mean),
                             std=tuple(data.std), seed=seed,
                             norm_pix=bool(settings.get("norm_pix_loss", True)),
                             mask_ratio=float(settings.get("mask_ratio", 0.75)))
  return save_grid(rows, path)


def write_workdir_grid(workdir: str, out: str | None = None, **kwargs) -> pathlib.Path:
  """WORKDIR/report/mae_grid.png (or OUT/mae_grid.png) from the newest checkpoint of an MAE
  run; the `jaxvision report WORKDIR` hook for objective 'mae'."""
  from jaxvision.reporting.run_config import load_run_config
  from jaxvision.train import experiment
  from jaxvision.train.state import eval_variables

  config = load_run_config(workdir)
  exp, state = experiment.load_trained(config, workdir)
  variables = eval_variables(state)
  out = pathlib.Path(out or pathlib.Path(workdir) / "report")
  return write_mae_grid(exp, variables, out / "mae_grid.png", **kwargs)
