"""The image classifiers (the zoo): images -> logits, and the backbones method models wrap.

Its own module so that a method model (models/ssl.py, models/jigsaw.py) can build a zoo
backbone without importing the package that registers it (an import cycle).
"""

from jaxvision.models import (alexnet, googlenet, googlenet_2014, inception, lenet, nin,
                              resnet, vgg, vit)
from jaxvision.models.registry import ModelSpec

CLASSIFIERS: dict[str, ModelSpec] = {}
for _module in (lenet, alexnet, vgg, nin, googlenet, googlenet_2014, inception, resnet, vit):
  CLASSIFIERS.update(_module.MODELS)
