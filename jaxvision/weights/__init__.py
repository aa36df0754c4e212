"""Import of reference checkpoints (torchvision, timm) into the jaxvision models.

  variables = from_torchvision("resnet50", load_state_dict_file("resnet50.safetensors"))
  logits = get_model("resnet50").apply(variables, preprocess(images, preset_for("resnet50")),
                                       train=False)

`import_weights_command` / `load_pretrained` are the CLI's and the train loop's entry points
(jaxvision import-weights, --config.init_from); see export.py for the folder they share.

Names resolve lazily, so `jaxvision.weights.presets` and `.files` stay numpy-only imports
(the data pipeline, which never imports jax, may use the presets).
"""

import importlib

_EXPORTS = {
    "convert": ("TIMM_MODELS", "TORCHVISION_MODELS", "Imported", "convert_state_dict",
                "from_timm", "from_torchvision"),
    "export": ("head_modules", "import_weights", "import_weights_command",
               "is_pretrained_dir", "load_pretrained", "merge_pretrained", "read_run_info"),
    "files": ("load_state_dict_file", "read_npz", "read_safetensors"),
    "hf_clip": ("from_hf_clip",),
    "presets": ("PRESETS", "preprocess", "preset_for"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
  if name not in _WHERE:
    raise AttributeError(f"module 'jaxvision.weights' has no attribute {name!r}")
  return getattr(importlib.import_module(f"jaxvision.weights.{_WHERE[name]}"), name)
