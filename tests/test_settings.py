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
  # The paper's values as ModSSC reads them (objectives/trinet_rounds' docstring), written out.
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


def _configs(pattern):
  import pathlib

  from jaxvision.config_loading import load_config_file

  root = pathlib.Path(__file__).resolve().parents[1] / "configs"
  names = sorted(root.glob(pattern))
  assert names, f"no {pattern} configs under {root}"
  return [load_config_file(str(path)) for path in names]


def test_mixmatch_typo_is_an_error_and_defaults_are_the_papers():
  from jaxvision.settings.mixmatch import MixMatchSettings

  with pytest.raises(UserError, match="unknown mixmatch setting.*lamda_u.*valid:.*lambda_u"):
    MixMatchSettings.from_config(ml_collections.ConfigDict({"mixmatch": {"lamda_u": 75}}))
  # Berthelot et al. 2019, sec. 4.1 (CIFAR-10): T 0.5, alpha 0.75, lambda_u 75; the ramp over
  # the reference's 16 x 1024 steps; ReMixMatch's window of 128 batches.
  s = MixMatchSettings.from_config(ml_collections.ConfigDict())
  assert (s.temperature, s.alpha, s.lambda_u, s.rampup_steps, s.alignment_window) == (
      0.5, 0.75, 75.0, 16384, 128)
  with pytest.raises(UserError, match="alignment_window=0"):
    MixMatchSettings.from_config(ml_collections.ConfigDict(
        {"mixmatch": {"distribution_alignment": True, "alignment_window": 0}}))
  for config in _configs("mixmatch_*.py"):
    MixMatchSettings.from_config(config)


def test_clip_settings_read_the_model_block_and_refuse_a_typo():
  from jaxvision.settings.clip import ClipSettings

  config = ml_collections.ConfigDict({"model": {"name": "clip_test", "context_length": 16,
                                                "vocab_size": 600},
                                      "clip": {"num_merges": 40}})
  s = ClipSettings.from_config(config)
  assert (s.context_length, s.vocab_size, s.num_merges, s.retrieval_examples) == (
      16, 600, 40, 5000)
  # CLIP's own text tower (Radford et al. 2021): 77 tokens, a 49,408-token BPE vocabulary
  s = ClipSettings.from_config(ml_collections.ConfigDict({"model": {"name": "clip"}}))
  assert (s.context_length, s.vocab_size) == (77, 49408)
  with pytest.raises(UserError, match="unknown clip setting.*num_merge\\b"):
    ClipSettings.from_config(ml_collections.ConfigDict({"clip": {"num_merge": 40}}))
  # context_length is the model's: written in the clip block it would be ignored, so refused
  with pytest.raises(UserError, match="unknown clip setting.*context_length"):
    ClipSettings.from_config(ml_collections.ConfigDict({"clip": {"context_length": 16}}))
  for config in _configs("clip_*.py"):
    ClipSettings.from_config(config)
