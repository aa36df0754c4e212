"""Hugging Face transformers CLIP folders -> jaxvision's `clip` model, its variables, tokenizer.

  model, variables, tokenizer = from_hf_clip("clip-vit-base-patch32/")
  image_emb = model.apply(variables, images_nhwc, method="encode_image")
  text_emb = model.apply(variables, tokenizer(["a photo of a cat."]), method="encode_text")

Reads config.json, model.safetensors (numpy alone: jaxvision.weights.files), vocab.json and
merges.txt. The name map follows transformers' CLIPModel (models/clip/modeling_clip.py):
torch Linear weights are (out, in) and become Flax kernels (in, out); the patch conv
(out, in, kh, kw) becomes (kh, kw, in, out); HF's post_layernorm on the pooled class token
is the ViT's final `norm` (a LayerNorm acts per token, so norm-then-pool == pool-then-norm).
Images must be preprocessed as HF's CLIPImageProcessor does (resize, centre crop, CLIP's
mean/std): `CLIP_MEAN`, `CLIP_STD` below.
"""

import json
import os

import numpy as np

from jaxvision.errors import UserError
from jaxvision.weights.files import read_safetensors

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# transformers' CLIPTextConfig / CLIPVisionConfig defaults, for keys a config.json leaves out.
_TEXT_DEFAULTS = dict(vocab_size=49408, hidden_size=512, intermediate_size=2048,
                      num_hidden_layers=12, num_attention_heads=8, max_position_embeddings=77,
                      hidden_act="quick_gelu", layer_norm_eps=1e-5, eos_token_id=49407)
_VISION_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                        num_attention_heads=12, num_channels=3, image_size=224, patch_size=32,
                        hidden_act="quick_gelu", layer_norm_eps=1e-5)
_ACTIVATIONS = {"quick_gelu": "quick_gelu", "gelu": "gelu"}  # HF "gelu" is the exact erf GELU


def model_settings(hf_config: dict) -> dict:
  """jaxvision.models.clip.CLIP keyword arguments of a transformers CLIPConfig dict."""
  text = {**_TEXT_DEFAULTS, **(hf_config.get("text_config") or {})}
  vision = {**_VISION_DEFAULTS, **(hf_config.get("vision_config") or {})}
  for tower in (text, vision):
    if tower["hidden_act"] not in _ACTIVATIONS:
      raise UserError(f"CLIP config uses activation {tower['hidden_act']!r}; jaxvision's CLIP "
                      f"supports {', '.join(_ACTIVATIONS)}")
  if text["hidden_act"] != vision["hidden_act"] or (
      text["layer_norm_eps"] != vision["layer_norm_eps"]):
    raise UserError("the text and vision towers of this CLIP config differ in activation or "
                    "layer_norm_eps; jaxvision's CLIP uses one setting for both")
  # transformers pools at argmax(ids) when eos_token_id == 2 (configs older than its PR
  # #24773), else at the first position holding eos_token_id.
  eos = text["eos_token_id"]
  eos = eos[0] if isinstance(eos, list) else eos
  settings = dict(
      embed_dim=hf_config.get("projection_dim", 512),
      image_size=vision["image_size"], patch_size=vision["patch_size"],
      vision_width=vision["hidden_size"], vision_depth=vision["num_hidden_layers"],
      vision_heads=vision["num_attention_heads"],
      vision_mlp_ratio=vision["intermediate_size"] / vision["hidden_size"],
      vocab_size=text["vocab_size"], context_length=text["max_position_embeddings"],
      text_width=text["hidden_size"], text_depth=text["num_hidden_layers"],
      text_heads=text["num_attention_heads"],
      text_mlp_ratio=text["intermediate_size"] / text["hidden_size"],
      eot_token_id=None if eos == 2 else int(eos),
      activation=_ACTIVATIONS[text["hidden_act"]], ln_eps=float(text["layer_norm_eps"]),
      logit_scale_init=float(hf_config.get("logit_scale_init_value", np.log(1 / 0.07))))
  for name, tower in (("vision", vision), ("text", text)):
    ratio = settings[f"{name}_mlp_ratio"]
    # The ViT builds int(width * ratio) hidden units; the ratio must round-trip exactly.
    if int(tower["hidden_size"] * ratio) != tower["intermediate_size"]:
      raise UserError(f"{name} intermediate_size {tower['intermediate_size']} is not a "
                      f"representable multiple of hidden_size {tower['hidden_size']}")
  return settings


def _linear(sd, prefix):
  out = {"kernel": sd[f"{prefix}.weight"].T}
  if f"{prefix}.bias" in sd:
    out["bias"] = sd[f"{prefix}.bias"]
  return out


def _norm(sd, prefix):
  return {"scale": sd[f"{prefix}.weight"], "bias": sd[f"{prefix}.bias"]}


def _blocks(sd, prefix, depth):
  blocks = {}
  for i in range(depth):
    p = f"{prefix}.encoder.layers.{i}"
    attn = {short: _linear(sd, f"{p}.self_attn.{short}_proj") for short in ("q", "k", "v")}
    attn["out"] = _linear(sd, f"{p}.self_attn.out_proj")
    blocks[f"block_{i}"] = {
        "norm1": _norm(sd, f"{p}.layer_norm1"), "attn": attn,
        "norm2": _norm(sd, f"{p}.layer_norm2"),
        "mlp": {"fc1": _linear(sd, f"{p}.mlp.fc1"), "fc2": _linear(sd, f"{p}.mlp.fc2")}}
  return blocks


def convert_state_dict(sd: dict[str, np.ndarray], settings: dict) -> dict:
  """{'params': ...} of jaxvision's CLIP from a transformers CLIPModel state dict."""
  v, t = "vision_model", "text_model"
  # Some exports prefix nothing, others keep the buffers; drop what has no parameter.
  sd = {k: np.asarray(a, np.float32) for k, a in sd.items() if not k.endswith("position_ids")}
  try:
    encoder = {
        "patch_embed": {"kernel": sd[f"{v}.embeddings.patch_embedding.weight"].transpose(
            2, 3, 1, 0)},
        "cls_token": sd[f"{v}.embeddings.class_embedding"].reshape(1, 1, -1),
        "pos_embed": sd[f"{v}.embeddings.position_embedding.weight"][None],
        "pre_norm": _norm(sd, f"{v}.pre_layrnorm"),
        "norm": _norm(sd, f"{v}.post_layernorm"),
        **_blocks(sd, v, settings["vision_depth"])}
    text = {
        "token_embed": {"embedding": sd[f"{t}.embeddings.token_embedding.weight"]},
        "pos_embed": sd[f"{t}.embeddings.position_embedding.weight"],
        "norm": _norm(sd, f"{t}.final_layer_norm"),
        **_blocks(sd, t, settings["text_depth"])}
    params = {"encoder": encoder, "text": text,
              "visual_projection": _linear(sd, "visual_projection"),
              "text_projection": _linear(sd, "text_projection"),
              "logit_scale": sd["logit_scale"].reshape(())}
  except KeyError as e:
    raise UserError(f"not a transformers CLIPModel state dict: no tensor {e.args[0]!r}") from None
  return {"params": params}


def _check_shapes(model, variables, settings):
  import jax
  import jax.numpy as jnp

  images = jnp.zeros((1, settings["image_size"], settings["image_size"], 3), jnp.float32)
  tokens = jnp.zeros((1, settings["context_length"]), jnp.int32)
  expected = jax.eval_shape(lambda: model.init(jax.random.key(0), images, tokens))
  got = jax.tree.map(lambda a: a.shape, variables)
  want = jax.tree.map(lambda a: a.shape, expected)
  if got != want:
    bad = [f"{jax.tree_util.keystr(p)}: {g} != {w}" for (p, g), (_, w) in zip(
        jax.tree_util.tree_leaves_with_path(got), jax.tree_util.tree_leaves_with_path(want))
        if g != w]
    raise UserError("the checkpoint does not fit its config.json: " + "; ".join(bad[:3]))


def from_hf_clip(path: str, *, dtype=None, load_tokenizer: bool = True):
  """(model, variables, tokenizer) of a transformers CLIP folder; tokenizer None if not asked."""
  from jaxvision.models.clip import CLIP  # jax/flax only here: the module itself stays numpy

  config_path, weights_path = os.path.join(path, "config.json"), os.path.join(
      path, "model.safetensors")
  for needed in (config_path, weights_path):
    if not os.path.isfile(needed):
      raise UserError(f"{needed} not found: from_hf_clip wants a transformers CLIP folder "
                      "(config.json, model.safetensors, vocab.json, merges.txt), e.g. from "
                      "CLIPModel.save_pretrained(..., safe_serialization=True)")
  with open(config_path, encoding="utf-8") as f:
    hf_config = json.load(f)
  if hf_config.get("model_type", "clip") != "clip":
    raise UserError(f"{config_path} is a {hf_config.get('model_type')!r} config, not 'clip'")
  settings = model_settings(hf_config)
  vision_channels = (hf_config.get("vision_config") or {}).get("num_channels", 3)
  if vision_channels != 3:
    raise UserError(f"CLIP with {vision_channels}-channel images is not supported")
  model = CLIP(**settings, **({"dtype": dtype} if dtype is not None else {}))
  variables = convert_state_dict(read_safetensors(weights_path), settings)
  _check_shapes(model, variables, settings)
  tokenizer = None
  if load_tokenizer:
    from jaxvision.text.tokenizer import ClipTokenizer

    tokenizer = ClipTokenizer.from_directory(path, context_length=settings["context_length"])
  return model, variables, tokenizer
