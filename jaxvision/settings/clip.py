"""CLIP's settings: config.clip (prompt templates, tokenizer) and the text tower's
context_length and vocab_size from config.model, which the data side must agree with.

The stream (data/image_text.py) and the zero-shot evaluator receive this object; neither
reads the config's clip or model blocks.
"""

import dataclasses

from jaxvision.errors import UserError
from jaxvision.settings import from_block

# A few of CLIP's ImageNet prompts (Radford et al. 2021, notebooks/Prompt_Engineering) for
# training, and different ones held out for zero-shot evaluation.
TRAIN_TEMPLATES = (
    "a photo of a {}.", "a picture of a {}.", "an image of the {}.", "a photo of the {}.",
    "a small photo of a {}.", "a large photo of the {}.", "a low resolution photo of a {}.",
    "a good photo of the {}.", "{}",
)
EVAL_TEMPLATES = (
    "a black and white photo of the {}.", "a cropped photo of a {}.",
    "a close-up photo of the {}.", "a bright photo of a {}.",
)
MODEL_KEYS = ("context_length", "vocab_size")  # read from config.model, not config.clip


@dataclasses.dataclass(frozen=True)
class ClipSettings:
  templates: tuple = TRAIN_TEMPLATES
  eval_templates: tuple = EVAL_TEMPLATES
  tokenizer: str = ""               # a folder with vocab.json and merges.txt; "": learn BPE
  num_merges: int = 300             # merges of the learnt BPE
  retrieval_examples: int = 5000    # pairs the caption-retrieval evaluation reads
  context_length: int = 77          # config.model's (the CLIP models' default)
  vocab_size: int = 49408           # config.model's (CLIP's BPE)

  @classmethod
  def from_config(cls, config) -> "ClipSettings":
    s = from_block(cls, config, "clip", not_in_block=MODEL_KEYS)
    model = config.get("model") or {}
    s = dataclasses.replace(
        s, templates=tuple(s.templates), eval_templates=tuple(s.eval_templates),
        tokenizer=s.tokenizer or "", num_merges=int(s.num_merges),
        retrieval_examples=int(s.retrieval_examples),
        **{k: int(model.get(k, getattr(cls, k))) for k in MODEL_KEYS})
    for key in ("templates", "eval_templates"):
      value = getattr(s, key)
      if not value or any("{}" not in t for t in value):
        raise UserError(f"clip.{key} must be a non-empty list of templates holding '{{}}' for "
                        f"the class name, got {value!r}")
    return s
