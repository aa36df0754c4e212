"""The paper-network variants of the ImageNet/CIFAR configs (issue #25): each loads locked,
names a registered model and carries the paper's numbers (quoted in the configs' docstrings
from the papers' text, not read back from the configs)."""

import pytest

from jaxvision import models
from jaxvision.config_loading import load_config_file
from jaxvision.data import views

VARIANTS = [
    ("configs/alexnet_imagenet.py:2012", "alexnet_2012"),
    ("configs/alexnet_imagenet.py:2012_nolrn", "alexnet_2012"),
    ("configs/alexnet_imagenet.py:2012_nodropout", "alexnet_2012"),
    ("configs/googlenet_imagenet.py:2014", "googlenet_2014"),
    ("configs/vgg16_imagenet.py:c", "vgg16_c"),
    ("configs/vgg16_imagenet.py:a_lrn", "vgg11_lrn"),
    ("configs/resnet50_imagenet.py:v1", "resnet50_v1"),
    ("configs/resnet50_imagenet.py:plain18", "plain18"),
    ("configs/resnet50_imagenet.py:plain34", "plain34"),
    ("configs/trinet_cifar10.py:cnn13", "trinet_cnn13"),
]


@pytest.mark.parametrize("local", ["", ",runlocal"])
@pytest.mark.parametrize("path,model", VARIANTS)
def test_variant_loads_and_names_its_model(path, model, local):
  config = load_config_file(path + local)
  assert config.is_locked and config.model.name == model and model in models.MODELS
  views.check_data_config(config.data)
  if local:
    assert 0 < config.num_train_steps <= 50


def test_paper_recipes():
  a = load_config_file("configs/alexnet_imagenet.py:2012")
  assert (a.data.image_size, a.batch_size, a.learning_rate, a.momentum, a.weight_decay) == (
      227, 128, 0.01, 0.9, 5e-4)
  assert a.model.lrn and a.model.dropout_rate == 0.5
  assert not load_config_file("configs/alexnet_imagenet.py:2012_nolrn").model.lrn
  assert load_config_file("configs/alexnet_imagenet.py:2012_nodropout").model.dropout_rate == 0
  r = load_config_file("configs/resnet50_imagenet.py:plain34")
  # He et al. sec. 3.4: S in [256, 480], batch 256, lr 0.1, wd 1e-4, 60e4 iterations.
  assert (r.data.multiscale_min, r.data.multiscale_max) == (256, 480)
  assert (r.batch_size, r.learning_rate, r.weight_decay) == (256, 0.1, 1e-4)
  assert r.num_epochs * 1_281_167 // 256 == pytest.approx(600_000, rel=0.01)
  v = load_config_file("configs/vgg16_imagenet.py:a_lrn")
  assert (v.data.multiscale_min, v.data.multiscale_max, v.data.eval_resize) == (256, 256, 256)
  # The default configs are unchanged by the variants.
  assert load_config_file("configs/alexnet_imagenet.py").model.name == "alexnet"
  assert load_config_file("configs/resnet50_imagenet.py").data.augment == (
      "random_resized_crop", "flip")
