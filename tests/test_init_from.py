"""--config.init_from and `jaxvision eval` on an import-weights folder, end to end on digits."""

import jax
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.train import experiment, loop
from jaxvision.weights import export
from tests.helpers import config, run_cli
from tests.test_weights_io import _resnet18_state_dict


def _params(workdir):
  return export.load_pretrained(str(workdir))[2]


def test_fine_tune_from_a_workdir_with_a_new_head(tmp_path):
  base = ("--config.num_train_steps=2", "--config.eval_every_steps=100",
          "--config.batch_size=32")
  loop.train_and_evaluate(config("lenet5_digits", *base), str(tmp_path / "a"))
  # learning_rate 1e-30: after one step the weights are still what init_from put there.
  tuned = config("lenet5_digits", *base, "--config.num_train_steps=1",
                 "--config.learning_rate=1e-30", "--config.model.num_classes=12",
                 f"--config.init_from={tmp_path / 'a'}")
  loop.train_and_evaluate(tuned, str(tmp_path / "b"))
  a, b = _params(tmp_path / "a")["params"], _params(tmp_path / "b")["params"]
  for layer in ("c1", "c3", "c5", "f6"):
    for leaf in a[layer]:
      np.testing.assert_array_equal(a[layer][leaf], b[layer][leaf])
  assert a["output"]["kernel"].shape == (84, 10) and b["output"]["kernel"].shape == (84, 12)

  # Another architecture is refused in one line, before any step.
  wrong = config("resnet20_fashion_mnist", "--config.data.name=digits",
                 "--config.num_train_steps=1", f"--config.init_from={tmp_path / 'a'}")
  with pytest.raises(UserError, match="do not fit model resnet20|lacks weights"):
    loop.train_and_evaluate(wrong, str(tmp_path / "c"))
  assert not (tmp_path / "c" / "checkpoints").exists() or not any(
      p.name.isdigit() for p in (tmp_path / "c" / "checkpoints").iterdir())


def _rgb_folder(root):
  import tensorflow as tf

  for split in ("train", "test"):
    for label, cls in enumerate(("cat", "dog")):
      (root / split / cls).mkdir(parents=True)
      for i in range(4 if split == "train" else 2):
        pixels = np.full((40, 48, 3), 60 * label + 20 * i, np.uint8)
        (root / split / cls / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())


def test_eval_of_an_import_folder_uses_the_imported_weights(tmp_path):
  src = tmp_path / "resnet18.npz"
  np.savez(src, **_resnet18_state_dict(num_classes=10))
  out = tmp_path / "imported"
  export.import_weights_command("torchvision", "resnet18", str(src), str(out))
  _rgb_folder(tmp_path / "images")
  data = ("--config.data.name=folder", f"--config.data.dir={tmp_path / 'images'}",
          "--config.model.name=resnet18", "--config.model.num_classes=10",
          "--config.batch_size=8", "--config.eval_batch_size=8")
  cfg = config("lenet5_digits", *data)
  cfg = export.apply_preset(cfg, str(out))
  assert (cfg.data.image_size, tuple(cfg.data.mean)) == (224, (0.485, 0.456, 0.406))
  exp, state = experiment.load_trained(cfg, str(out))
  want = export.load_pretrained(str(out))[2]
  np.testing.assert_array_equal(np.asarray(state.params["conv1"]["kernel"]),
                                want["params"]["conv1"]["kernel"])
  np.testing.assert_array_equal(np.asarray(state.model_state["batch_stats"]["bn1"]["var"]),
                                want["batch_stats"]["bn1"]["var"])
  code, printed, _ = run_cli("eval", "--config", "configs/lenet5_digits.py", "--workdir",
                             str(out), *data)
  assert code == 0 and "num_examples 4, step 0" in printed, printed
  # The class count must match the file's: a 12-class model is refused in one line.
  code, _, err = run_cli("eval", "--config", "configs/lenet5_digits.py", "--workdir", str(out),
                         *data, "--config.model.num_classes=12")
  assert code == 2 and "10 classes" in err and err.count("\n") == 1, err


def test_fine_tune_a_classifier_from_a_self_supervised_encoder(tmp_path):
  """A rotation-pretrained encoder initialises resnet20: every layer but the head."""
  small = ("--config.data.name=digits", "--config.data.image_size=8",
           "--config.data.mean=(0.5,)", "--config.data.std=(0.5,)", "--config.batch_size=32",
           "--config.eval_batch_size=360", "--config.model.stages=(1,1,1)")
  loop.train_and_evaluate(config("rotation_fashion_mnist", *small, "--config.num_train_steps=2",
                                 "--config.probe.max_train_examples=200",
                                 "--config.data.augment=()"), str(tmp_path / "ssl"))
  tuned = config("resnet20_fashion_mnist", *small, "--config.data.resize=none",
                 "--config.num_train_steps=1", "--config.learning_rate=1e-30",
                 f"--config.init_from={tmp_path / 'ssl'}")
  loop.train_and_evaluate(tuned, str(tmp_path / "ft"))
  encoder = _params(tmp_path / "ssl")["params"]["encoder"]
  classifier = _params(tmp_path / "ft")["params"]
  assert set(classifier) - set(encoder) == {"fc"}
  for a, b in zip(jax.tree.leaves(encoder), jax.tree.leaves({k: classifier[k] for k in encoder})):
    np.testing.assert_array_equal(a, b)
