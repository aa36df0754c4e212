"""from_hf_clip against transformers' CLIPModel: a small random model saved with save_pretrained."""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from jaxvision.errors import UserError  # noqa: E402
from jaxvision.text import train_tokenizer  # noqa: E402
from jaxvision.weights import from_hf_clip  # noqa: E402

CAPTIONS = ["a photo of a cat.", "a drawing of a dog!", "Two dogs, one café — naïve art",
            "an old photo of the sea"]


def _rel_l2(a, b):
  return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("hf_clip"))
  tok = train_tokenizer(CAPTIONS * 4, num_merges=60, context_length=24)
  tok.save(path)
  text = dict(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
              num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=24,
              bos_token_id=tok.sot_id, eos_token_id=tok.eot_id, pad_token_id=tok.eot_id)
  vision = dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                num_attention_heads=4, image_size=32, patch_size=8)
  config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=24)
  torch.manual_seed(0)
  model = transformers.CLIPModel(config).eval()
  with torch.no_grad():  # a random, not a unit, init of the LayerNorms and the scale
    for name, p in model.named_parameters():
      if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
        p.add_(0.1 * torch.randn_like(p))
    model.logit_scale.fill_(2.3)
  model.save_pretrained(path, safe_serialization=True)
  return path, model, tok


def test_embeddings_and_logits_match_transformers(hf_dir):
  path, hf, _ = hf_dir
  model, variables, tok = from_hf_clip(path)
  rng = np.random.default_rng(0)
  images = rng.normal(size=(3, 32, 32, 3)).astype(np.float32)
  ids = tok(CAPTIONS)
  assert ids.shape == (4, 24)
  with torch.no_grad():
    pixels = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    input_ids = torch.from_numpy(ids.astype(np.int64))
    want_img = hf.get_image_features(pixel_values=pixels).pooler_output.numpy()
    want_txt = hf.get_text_features(input_ids=input_ids).pooler_output.numpy()
    want_logits = hf(input_ids=input_ids, pixel_values=pixels).logits_per_image.numpy()
  # One call: __call__ is encode_image and encode_text side by side.
  img, txt, scale = model.apply(variables, images, ids)
  assert img.shape == (3, 24) and txt.shape == (4, 24)
  assert _rel_l2(img, want_img) < 1e-4
  assert _rel_l2(txt, want_txt) < 1e-4
  norm = lambda x: np.asarray(x) / np.linalg.norm(x, axis=-1, keepdims=True)
  logits = np.exp(float(scale)) * norm(img) @ norm(txt).T
  assert _rel_l2(logits, want_logits) < 1e-4
  assert float(scale) == pytest.approx(2.3, rel=1e-6)


def test_tokenizer_of_folder_matches_transformers(hf_dir):
  path, _, tok = hf_dir
  hf_tok = transformers.CLIPTokenizer.from_pretrained(path)
  want = hf_tok(CAPTIONS, padding="max_length", truncation=True, max_length=24)["input_ids"]
  np.testing.assert_array_equal(from_hf_clip(path)[2](CAPTIONS), np.array(want))


def test_missing_files_and_wrong_config_are_user_errors(hf_dir, tmp_path):
  with pytest.raises(UserError, match="config.json not found"):
    from_hf_clip(str(tmp_path))
  path, _, _ = hf_dir
  bad = tmp_path / "bad"
  bad.mkdir()
  with open(os.path.join(path, "config.json")) as f:
    config = json.load(f)
  config["vision_config"]["hidden_size"] = 64  # no longer what the weights hold
  (bad / "config.json").write_text(json.dumps(config))
  os.symlink(os.path.join(path, "model.safetensors"), bad / "model.safetensors")
  with pytest.raises(UserError, match="does not fit its config.json"):
    from_hf_clip(str(bad), load_tokenizer=False)
