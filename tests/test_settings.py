"""Typed method settings: defaults in one place, an unknown key is a one-line error."""

import ml_collections
import pytest

from jaxvision.errors import UserError
from jaxvision.settings.trinet import TriNetSettings


def _config(**trinet):
  return ml_collections.ConfigDict({"trinet": trinet})


def test_trinet_typo_is_an_error_naming_it():
  with pytest.raises(UserError, match="unknown trinet setting.*sigma_0.*valid:.*sigma0"):
    TriNetSettings.from_config(_config(sigma_0=0.9))


def test_trinet_defaults_fill_what_the_block_leaves_out():
  s = TriNetSettings.from_config(_config(rounds=2, pi_weight=1.5))
  assert (s.rounds, s.pi_weight) == (2, 1.5)
  # The paper's values as ModSSC reads them (trinet_rounds' docstring), written out here.
  assert (s.sigma0, s.sigma_os, s.sigma_decay, s.smear_std, s.des_passes) == (
      0.95, 0.25, 0.05, 0.05, 6)
  assert TriNetSettings.from_config(ml_collections.ConfigDict()) == TriNetSettings()


@pytest.mark.parametrize("bad", [{"rounds": -1}, {"init_steps": 0}, {"labeled_share": 1.0}])
def test_trinet_out_of_range_values_are_refused(bad):
  with pytest.raises(UserError, match="trinet"):
    TriNetSettings.from_config(_config(**bad))


def test_every_trinet_config_block_is_known():
  # Each shipped Tri-Net config loads into the settings (no key the code would ignore).
  import pathlib

  from jaxvision.config_loading import load_config_file

  root = pathlib.Path(__file__).resolve().parents[1] / "configs"
  names = sorted(root.glob("trinet_*.py"))
  assert names, f"no Tri-Net configs under {root}"
  for path in names:
    TriNetSettings.from_config(load_config_file(str(path)))


def test_semi_typo_is_an_error_and_defaults_fill_the_rest():
  from jaxvision.settings.semi import SemiSettings

  with pytest.raises(UserError, match="unknown semi setting.*label_per_class"):
    SemiSettings.from_config(ml_collections.ConfigDict({"semi": {"label_per_class": 4}}))
  s = SemiSettings.from_config(ml_collections.ConfigDict({"semi": {"labels_per_class": 4}}))
  assert (s.labels_per_class, s.split_seed, s.unlabeled_ratio, s.num_augment,
          s.audit_dir) == (4, 0, 1, 2, "")


def test_simclr_typo_is_an_error_and_every_config_block_is_known():
  import pathlib

  from jaxvision.config_loading import load_config_file
  from jaxvision.settings.simclr import SimCLRSettings

  with pytest.raises(UserError, match="unknown simclr setting.*colour_strength"):
    SimCLRSettings.from_config(ml_collections.ConfigDict({"simclr": {"colour_strength": 1.0}}))
  root = pathlib.Path(__file__).resolve().parents[1] / "configs"
  names = sorted(root.glob("simclr_*.py"))
  assert names, f"no SimCLR configs under {root}"
  for path in names:
    SimCLRSettings.from_config(load_config_file(str(path)))
