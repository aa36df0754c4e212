"""A table of bad inputs: each ends in one line that names the problem, status 2, no traceback."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from helpers import config, run_cli
from jaxvision.config_loading import apply_overrides
from jaxvision.errors import UserError

DIGITS = ["train", "--config", "configs/lenet5_digits.py"]
FMNIST = ["train", "--config", "configs/lenet5_fashion_mnist.py"]


def folder_with_a_text_file(tmp):
  import numpy as np
  import tensorflow as tf
  for split in ("train", "test"):
    for cls in ("a", "b"):
      os.makedirs(tmp / split / cls)
      for i in range(4):
        (tmp / split / cls / f"ok{i}.png").write_bytes(
            tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy())
  (tmp / "train" / "a" / "notes.jpg").write_text("not an image")
  return str(tmp)


def trained_workdir(tmp):
  workdir = str(tmp / "trained")
  assert run_cli(*DIGITS, "--workdir", workdir, "--config.num_train_steps=1")[0] == 0
  return workdir


def config_without_get_config(tmp):
  path = tmp / "bad_config.py"
  path.write_text("x = 1\n")
  return str(path)


# (arguments, a function of tmp_path giving extra arguments, the text the error must contain)
CASES = [
    (DIGITS + ["--config.model.name=resnet9000"], None, "unknown model 'resnet9000'"),
    (DIGITS + ["--config.data.name=imagenet"], None, "unknown dataset 'imagenet'"),
    (DIGITS + ["--config.learnig_rate=0.1"], None, "Did you mean learning_rate"),
    (DIGITS + ["--config.data.augmnt=('flip',)"], None, "Did you mean data.augment"),
    (DIGITS + ["--config.batch_size=big"], None, "expected int"),
    (DIGITS + ["--config.learning_rate=fast"], None, "expected float"),
    (DIGITS + ["--config.data.download=maybe"], None, "expected bool"),
    (DIGITS + ["--config.learning_rate=-0.1"], None, "learning_rate must be positive"),
    (DIGITS + ["--config.learning_rate=0"], None, "learning_rate must be positive"),
    (DIGITS + ["--config.batch_size=0"], None, "batch_size must be positive"),
    (DIGITS + ["--config.batch_size=-32"], None, "batch_size must be positive"),
    (DIGITS + ["--config.num_epochs=0"], None, "set num_train_steps or num_epochs"),
    (DIGITS + ["--config.batch_size=36"], None, "not divisible by the 8 devices"),
    (DIGITS + ["--config.eval_batch_size=100"], None, "eval_batch_size=100 is not divisible"),
    (DIGITS + ["--config.batch_size=2048"], None, "exceeds the 1437 training examples"),
    (DIGITS + ["--config.log_every_steps=0"], None, "log_every_steps must be positive"),
    (DIGITS + ["--config.data.image_size=16"], None, "cannot take (16, 16, 1) inputs"),
    (DIGITS + ["--config.model.num_classes=5"], None, "labels 0..9 but model.num_classes=5"),
    (DIGITS + ["--config.dtype=float8"], None, "unknown dtype 'float8'"),
    (DIGITS + ["--config.optimizer=adagrad"], None, "unknown optimizer 'adagrad'"),
    (DIGITS + ["--config.schedule=linear"], None, "unknown schedule 'linear'"),
    (DIGITS + ["--config.data.augment=('spin',)"], None, "unknown data.augment op(s) spin"),
    (DIGITS + ["--config.data.resize=stretch"], None, "unknown data.resize 'stretch'"),
    (DIGITS + ["--config.model.depth=3"], None, "does not take these settings"),
    (DIGITS + ["--config.modle.name=x"], None, "Did you mean model.name"),
    (DIGITS + ["--config.data.name=folder"], lambda t: [f"--config.data.dir={t}/none"],
     "needs a train/ subfolder"),
    # reported when a host reads it (building the source opens no image)
    (DIGITS + ["--config.data.name=folder", "--config.data.image_size=32",
               "--config.batch_size=8", "--config.eval_batch_size=8"],
     lambda t: [f"--config.data.dir={folder_with_a_text_file(t)}"],
     "notes.jpg is not a readable image"),
    (DIGITS + ["--config.data.name=folder", "--config.data.bad_images=maybe"],
     lambda t: [f"--config.data.dir={folder_with_a_text_file(t)}"],
     "data.bad_images must be 'error' or 'skip'"),
    (FMNIST, lambda t: [f"--config.data.dir={t}"], "apt-get install dataset-fashion-mnist"),
    (DIGITS + ["--config.data.name=tfds:mnist"], lambda t: [f"--config.data.dir={t}"],
     "not prepared"),
    (DIGITS + ["--config.data.name=tfds:no_such_dataset_xyz"], None, "TFDS has no dataset"),
    (DIGITS + ["--config.model.name=lenet5_relu"],
     lambda t: ["--workdir", trained_workdir(t)], "holds a run of a different model"),
    (DIGITS + ["--config.model.num_classes=20"],
     lambda t: ["--workdir", trained_workdir(t)], "num_classes: 10 there, 20 now"),
    (["train", "--config", "configs/lenet5_digits.py"], "no-workdir",
     "the following arguments are required: --workdir"),
    (["train"], "no-workdir", "required: --config, --workdir"),
    (["train", "--config", "configs/missing.py"], None, "config file 'configs/missing.py' not found"),
    (["train", "--config"], lambda t: [config_without_get_config(t)], "defines no get_config"),
    (DIGITS + ["--coordinator_address=127.0.0.1:1234"], None, "go together"),
    (DIGITS + ["--cpu-devices=-1"], None, "--cpu-devices must be >= 0"),
    (["fly"], "no-workdir", "invalid choice: 'fly'"),
    (["eval", "--config", "configs/lenet5_digits.py"], None, "no checkpoint in"),
    (DIGITS + ["batch_size=64"], None, "unrecognised argument 'batch_size=64'"),
]


@pytest.mark.parametrize("argv, extra, expected", CASES,
                         ids=[f"{i}-{c[2][:30]}" for i, c in enumerate(CASES)])
def test_bad_input(tmp_path, argv, extra, expected):
  argv = list(argv)
  if extra == "no-workdir":
    pass
  else:
    more = extra(tmp_path) if extra else []
    if "--workdir" not in more:
      more += ["--workdir", str(tmp_path / "w")]
    argv += more
  code, _, err = run_cli(*argv)
  assert code == 2, err
  assert err.startswith("jaxvision: error: ") and err.count("\n") == 1, err
  assert expected in err, err
  assert "Traceback" not in err


def test_table_is_large_enough():
  assert len(CASES) >= 25


@settings(max_examples=300, deadline=None)
@given(key=st.text(min_size=0, max_size=20), value=st.text(max_size=30))
def test_config_parser_fuzz_only_raises_user_errors(key, value):
  c = config("lenet5_digits")
  try:
    apply_overrides(c, [f"--config.{key}={value}"])
  except UserError as e:
    assert "\n" not in str(e).strip() or "Valid keys" in str(e)
  # Any other exception type fails the test: a user typo must never be a traceback.


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["batch_size", "learning_rate", "data.augment", "data.download",
                            "model.name", "data.mean", "seed", "num_epochs"]),
       value=st.text(max_size=30))
def test_known_keys_with_arbitrary_values(key, value):
  c = config("lenet5_digits")
  try:
    apply_overrides(c, [f"--config.{key}={value}"])
  except UserError:
    return
  assert key.split(".")[-1] in str(c)
