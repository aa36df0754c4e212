"""SimCLR's settings (config.simclr): the loss's temperature and the two-view augmentation."""

import dataclasses

from jaxvision.errors import UserError
from jaxvision.settings import from_block


@dataclasses.dataclass(frozen=True)
class SimCLRSettings:
  temperature: float = 0.5         # the paper's CIFAR-10 value; 0.1 for ImageNet at 4096
  crop_scale: tuple = (0.08, 1.0)  # random-resized-crop area range
  color_strength: float = 1.0      # colour-distortion strength s
  blur: str = "auto"               # Gaussian blur: on, off, or auto (by image size)

  @classmethod
  def from_config(cls, config) -> "SimCLRSettings":
    s = from_block(cls, config, "simclr")
    s = dataclasses.replace(s, temperature=float(s.temperature),
                            crop_scale=tuple(s.crop_scale),
                            color_strength=float(s.color_strength))
    if s.temperature <= 0:
      raise UserError(f"simclr.temperature must be positive, got {s.temperature}")
    return s
