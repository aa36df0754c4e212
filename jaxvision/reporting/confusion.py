"""Predictions on the test split -> confusion matrix, per-class accuracy, confused pairs."""

import jax
import jax.numpy as jnp
import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxvision.data import pipeline, views  # noqa: E402
from jaxvision.parallel import batch_sharding, global_batch, replicated_sharding  # noqa: E402

EXAMPLES_PER_PAIR = 6


def predict_split(exp, state, split="test"):
  """(predictions, labels, images of the misclassified examples) over the whole split."""
  from jaxvision.train.state import eval_variables  # as mae_grid: reporting reads train lazily
  # The parameters the run's own evaluations use (the EMA when it keeps one), so the report's
  # accuracy is the logged one.
  variables = eval_variables(state)
  predict = jax.jit(lambda v, x: jnp.argmax(exp.model.apply(v, x, train=False), -1),
                    in_shardings=(replicated_sharding(exp.mesh), batch_sharding(exp.mesh)))
  batches = pipeline.eval_batches(exp.source, views.single_view(exp.config.data, train=False),
                                  split=split, local_batch=exp.config.eval_batch_size)
  preds, labels, wrong_images = [], [], {}
  for batch in batches:
    pred = np.asarray(predict(variables, global_batch({"image": batch["image"]},
                                                      exp.mesh)["image"]))
    keep = batch["mask"] == 1
    for p, l, image in zip(pred[keep], batch["label"][keep], batch["image"][keep]):
      if p != l and len(wrong_images.setdefault((int(l), int(p)), [])) < EXAMPLES_PER_PAIR:
        wrong_images[(int(l), int(p))].append(image)
    preds.append(pred[keep])
    labels.append(batch["label"][keep])
  return np.concatenate(preds), np.concatenate(labels), wrong_images


def confusion_matrix(preds, labels, num_classes):
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (labels, preds), 1)
  return matrix


def most_confused(matrix, k=3):
  off = matrix.copy()
  np.fill_diagonal(off, 0)
  order = np.argsort(off, axis=None)[::-1][:k]
  return [(int(i // matrix.shape[0]), int(i % matrix.shape[0]), int(off.flat[i]))
          for i in order if off.flat[i] > 0]


def plot_confusion(matrix, class_names, path, title):
  n = len(class_names)
  fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
  rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
  ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
  if n <= 20:
    for i in range(n):
      for j in range(n):
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                color="white" if rates[i, j] > 0.5 else "black")
  ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
  ax.set_yticks(range(n), class_names, fontsize=8)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_confused_examples(pairs, wrong_images, class_names, mean, std, path):
  """One row per confused (true, predicted) pair, with test images from it."""
  rows = [(t, p) for t, p, _ in pairs if wrong_images.get((t, p))]
  if not rows:
    return False
  fig, axes = plt.subplots(len(rows), EXAMPLES_PER_PAIR,
                           figsize=(1.4 * EXAMPLES_PER_PAIR, 1.6 * len(rows)), squeeze=False)
  for r, (t, p) in enumerate(rows):
    for c in range(EXAMPLES_PER_PAIR):
      ax = axes[r][c]
      ax.axis("off")
      images = wrong_images[(t, p)]
      if c < len(images):
        image = np.clip(images[c] * np.asarray(std) + np.asarray(mean), 0, 1)
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
    axes[r][0].set_title(f"{class_names[t]} -> {class_names[p]}", fontsize=8, loc="left")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return True
