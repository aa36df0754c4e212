"""CLIP's BPE tokenizer against transformers' CLIPTokenizer and OpenAI's own Python BPE."""

import gzip
import importlib.util
import os

import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.text.tokenizer import (EOT, SOT, ClipTokenizer, bytes_to_unicode,
                                      clip_layout_vocab, train_tokenizer)

CORPUS = ["a photo of a cat.", "a photo of the dog!", "an image of two cats, sitting",
          "Café, naïve façade: don't stop", "the 1990s were 42 years ago"] * 3
# Unicode (accents, CJK, emoji, combining marks), punctuation runs, contractions, digits,
# odd whitespace, the empty string, and text longer than 77 tokens.
STRINGS = ["a photo of a cat.", "Hello, World!!  It's   fine...", "Café naïve façade — über",
           "北京 🙂 e\u0301", "don't you'll we'd I'M 1234 x2", "  tabs\tand\nnewlines ", "",
           "a photo of the " * 40, "?!?! ((brackets)) & ampersands; semi:colons"]


def _hf_ids(tok_dir, texts, length):
  transformers = pytest.importorskip("transformers")
  hf = transformers.CLIPTokenizer.from_pretrained(str(tok_dir))
  return np.array(hf(texts, padding="max_length", truncation=True, max_length=length)[
      "input_ids"])


def test_trained_vocab_matches_transformers(tmp_path):
  tok = train_tokenizer(CORPUS, num_merges=80)
  tok.save(str(tmp_path))
  mine = ClipTokenizer.from_directory(str(tmp_path))(STRINGS)
  assert mine.shape == (len(STRINGS), 77) and mine.dtype == np.int32
  np.testing.assert_array_equal(mine, _hf_ids(tmp_path, STRINGS, 77))


def _openai_tokenizer_module():
  """open_clip's copy of OpenAI's clip/simple_tokenizer.py, loaded alone: importing the
  open_clip package pulls in torchvision, whose triton import segfaults once TensorFlow is
  loaded (seen with torch 2.14.1 / TF 2.21), and takes ~30 s."""
  spec = importlib.util.find_spec("open_clip")
  if spec is None or spec.origin is None:
    pytest.skip("open_clip_torch is not installed (the [interop] extra)")
  pytest.importorskip("ftfy")
  pytest.importorskip("regex")
  path = os.path.join(os.path.dirname(spec.origin), "tokenizer.py")
  module_spec = importlib.util.spec_from_file_location("_openai_simple_tokenizer", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module


def test_real_clip_vocab_matches_openai_and_transformers(tmp_path):
  """CLIP's own merges (shipped inside open_clip) and its reference Python tokenizer."""
  oc = _openai_tokenizer_module()
  with gzip.open(oc.default_bpe()) as f:
    lines = f.read().decode("utf-8").split("\n")
  merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]  # as CLIP reads it
  vocab = clip_layout_vocab(merges)
  assert len(vocab) == 49408 and vocab[SOT] == 49406 and vocab[EOT] == 49407
  tok = ClipTokenizer(vocab, merges)
  mine = tok(STRINGS)
  reference = oc.SimpleTokenizer(oc.default_bpe())
  for row, text in zip(mine, STRINGS):
    ref = [49406] + reference.encode(text)[:75] + [49407]  # open_clip's truncation
    np.testing.assert_array_equal(row[:len(ref)], ref)
    assert (row[len(ref):] == 49407).all()  # padded with end-of-text, as transformers pads
  assert tok.encode("a photo of a cat.") == [320, 1125, 539, 320, 2368, 269]
  tok.save(str(tmp_path))
  np.testing.assert_array_equal(mine, _hf_ids(tmp_path, STRINGS, 77))


def test_truncation_keeps_end_of_text_last():
  tok = train_tokenizer(CORPUS, num_merges=40, context_length=12)
  ids = tok("a photo of a cat " * 20)[0]
  assert ids.shape == (12,)
  assert ids[0] == tok.sot_id and ids[-1] == tok.eot_id
  assert tok.eot_id not in ids[1:-1]
  assert list(ids[1:-1]) == tok.encode("a photo of a cat " * 20)[:10]


def test_cleanup_lowercase_whitespace_html():
  tok = train_tokenizer(CORPUS, num_merges=40)
  np.testing.assert_array_equal(tok("A  PHOTO\tof\n a Cat."), tok("a photo of a cat."))
  np.testing.assert_array_equal(tok("cats &amp; dogs"), tok("cats & dogs"))  # CLIP unescapes
  assert tok.decode(tok("A photo of a cat.")[0]) == "a photo of a cat ."


def test_clip_layout_and_determinism():
  table = bytes_to_unicode()
  assert len(set(table.values())) == 256 and table[ord("a")] == "a" and table[32] == "Ġ"
  a = train_tokenizer(CORPUS, num_merges=50)
  b = train_tokenizer(list(CORPUS), num_merges=50)
  assert a.merges == b.merges and a.vocab == b.vocab
  assert len(a.merges) == 50 and a.vocab_size == 512 + 50 + 2
  assert a.eot_id == max(a.vocab.values()) == a.sot_id + 1  # argmax finds end-of-text


def test_bad_files_are_user_errors(tmp_path):
  with pytest.raises(UserError, match="vocab.json"):
    ClipTokenizer.from_directory(str(tmp_path))
  (tmp_path / "vocab.json").write_text('{"a": 0}')
  (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")
  with pytest.raises(UserError, match="no <\\|startoftext\\|>"):
    ClipTokenizer.from_directory(str(tmp_path))
  with pytest.raises(UserError, match="context_length"):
    train_tokenizer(CORPUS, num_merges=5, context_length=1)
