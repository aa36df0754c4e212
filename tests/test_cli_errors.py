"""User mistakes end in one line naming the problem and the fix, exit status 2, no traceback."""

import os

import pytest

from helpers import config, run_cli
from jaxvision.errors import UserError

TRAIN = ["train", "--config", "configs/lenet5_digits.py"]


def snapshot(folder):
  """Every file under `folder` with its size and modification time."""
  return {os.path.relpath(os.path.join(root, name), folder):
          (os.path.getsize(os.path.join(root, name)), os.path.getmtime(os.path.join(root, name)))
          for root, _, files in os.walk(folder) for name in files}


@pytest.mark.parametrize("override, expected", [
    ("--config.learnin_rate=0.1", "unknown config key 'learnin_rate'. Did you mean learning_rate"),
    ("--config.data.nme=digits", "Did you mean data.name"),
    ("--config.batch_size=abc", "--config.batch_size='abc': expected int"),
    ("--config.batch_size=-8", "batch_size must be positive"),
    ("--config.batch_size=12", "batch_size=12 is not divisible by the 8 devices"),
    ("--config.learning_rate=0", "learning_rate must be positive"),
    ("--config.model.name=resnet9000", "unknown model 'resnet9000'"),
    ("--config.data.name=imagenet", "unknown dataset 'imagenet'"),
    ("--config.data.augment=('spin',)", "unknown data.augment op(s) spin"),
    ("--config.optimizer=adagrad", "unknown optimizer 'adagrad'"),
    ("--batch_size=8", "unrecognised argument '--batch_size=8'"),
    ("--config.num_train_steps=-3", "num_train_steps must be a positive number of steps, or -1"),
    ("--config.num_train_steps=0", "num_train_steps must be a positive number of steps, or -1"),
])
def test_bad_overrides_are_one_line_errors(tmp_path, override, expected):
  code, _, err = run_cli(*TRAIN, "--workdir", str(tmp_path / "w"), override)
  assert code == 2
  assert err.startswith("jaxvision: error: ") and err.count("\n") == 1, err
  assert expected in err, err
  assert "Traceback" not in err


def test_missing_config_file_and_missing_dataset(tmp_path):
  code, _, err = run_cli("train", "--config", "configs/nope.py", "--workdir", str(tmp_path))
  assert code == 2 and "config file 'configs/nope.py' not found" in err
  code, _, err = run_cli("train", "--config", "configs/lenet5_fashion_mnist.py", "--workdir",
                         str(tmp_path / "w"), f"--config.data.dir={tmp_path}")
  assert code == 2 and "apt-get install dataset-fashion-mnist" in err
  assert not os.path.exists(tmp_path / "w")  # nothing created for a run that cannot start


def test_eval_without_checkpoint(tmp_path):
  code, _, err = run_cli("eval", "--config", "configs/lenet5_digits.py", "--workdir",
                         str(tmp_path))
  assert code == 2 and "no checkpoint" in err and "jaxvision train" in err


def test_unknown_key_lists_valid_keys():
  from jaxvision.config_loading import apply_overrides
  with pytest.raises(UserError) as e:
    apply_overrides(config("lenet5_digits"), ["--config.zzz=1"])
  assert "Valid keys:" in str(e.value) and "model.name" in str(e.value)


def test_workdir_of_another_model_is_refused_and_untouched(tmp_path):
  workdir = str(tmp_path / "w")
  code, _, err = run_cli(*TRAIN, "--workdir", workdir, "--config.num_train_steps=2",
                         "--config.eval_batch_size=360")
  assert code == 0, err
  before = snapshot(workdir)
  code, _, err = run_cli(*TRAIN, "--workdir", workdir, "--config.model.name=lenet5_relu",
                         "--config.num_train_steps=4")
  assert code == 2 and "holds a run of a different model" in err and "lenet5" in err
  assert snapshot(workdir) == before


@pytest.mark.parametrize("source, line, expected", [
    # a colon where the parameter list belongs; then a name that does not exist
    ("import ml_collections\n\ndef get_config(:\n  return None\n", 3, "invalid syntax"),
    ("def get_config():\n  x = 1\n  return undefined_name\n", 3,
     "NameError: name 'undefined_name' is not defined"),
])
def test_config_file_mistakes_name_file_and_line(tmp_path, source, line, expected):
  path = tmp_path / "bad_config.py"
  path.write_text(source)
  code, _, err = run_cli("train", "--config", str(path), "--workdir", str(tmp_path / "w"))
  assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
  assert err.startswith(f"jaxvision: error: {path}:{line}: ") and expected in err, err
