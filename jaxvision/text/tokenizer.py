"""CLIP's tokenizer: byte-level BPE over vocab.json + merges.txt, run by Hugging Face `tokenizers`.

The BPE itself is the `tokenizers` library's (a well-kept Rust implementation), configured the
way CLIP's reference `SimpleTokenizer` (Radford et al. 2021, clip/simple_tokenizer.py) works:
- cleanup: HTML entities unescaped twice, Unicode NFC, runs of whitespace -> one space, lower
  case (CLIP also runs ftfy.fix_text, which repairs mojibake; we leave it out so the output does
  not depend on an optional package; NFC covers the normalisation part of it);
- pre-tokenisation by CLIP's regex ('s 't ... letter runs, single digits, punctuation runs);
- each piece as bytes mapped to printable characters (GPT-2's byte->unicode table), the last
  symbol of a word carrying the suffix '</w>';
- <|startoftext|> ids <|endoftext|>, truncated so that end-of-text is always the last real
  token, padded to the context length (77) with `pad_id` (end-of-text, as Hugging Face pads).

`train_tokenizer` learns a small vocabulary, deterministically, in exactly CLIP's file layout
(256 byte symbols, the same with '</w>', one entry per merge, then the two special tokens
last), so end-of-text has the largest id and the text tower can find it by argmax, as CLIP
does.
"""

import collections
import html
import json
import os
from typing import Iterable, Sequence

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from jaxvision.errors import UserError

SOT, EOT = "<|startoftext|>", "<|endoftext|>"
CONTEXT_LENGTH = 77
# CLIP's pre-tokeniser pattern (clip/simple_tokenizer.py), with \p{L}/\p{N} as in its `regex`.
_PATTERN = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"""
            r"""[^\s\p{L}\p{N}]+""")
_SUFFIX = "</w>"


def _configure(tok: Tokenizer) -> Tokenizer:
  tok.normalizer = normalizers.Sequence([
      normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
  tok.pre_tokenizer = pre_tokenizers.Sequence([
      pre_tokenizers.Split(Regex(_PATTERN), behavior="removed", invert=True),
      pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
  tok.decoder = decoders.ByteLevel()
  return tok


def _clean(text: str) -> str:
  # CLIP's basic_clean: html.unescape twice (e.g. '&amp;amp;' -> '&'), then strip.
  return html.unescape(html.unescape(text)).strip()


class ClipTokenizer:
  """Text -> (N, context_length) int32 token ids, CLIP's way (see the module docstring)."""

  def __init__(self, vocab: dict[str, int], merges: Sequence[tuple[str, str]], *,
               context_length: int = CONTEXT_LENGTH, pad_id: int | None = None):
    for special in (SOT, EOT):
      if special not in vocab:
        raise UserError(f"the CLIP vocabulary has no {special} token; use CLIP's vocab.json")
    if context_length < 2:
      raise UserError(f"context_length must be at least 2 (start and end), got {context_length}")
    self.vocab = dict(vocab)
    self.merges = [tuple(m) for m in merges]
    self.context_length = context_length
    self.sot_id, self.eot_id = vocab[SOT], vocab[EOT]
    self.pad_id = self.eot_id if pad_id is None else pad_id
    self._tok = _configure(Tokenizer(models.BPE(
        vocab=self.vocab, merges=self.merges, continuing_subword_prefix="",
        end_of_word_suffix=_SUFFIX, fuse_unk=False, unk_token=EOT)))
    # The special tokens as written in text map to their ids, as in CLIP's cache.
    self._tok.add_special_tokens([SOT, EOT])

  @property
  def vocab_size(self) -> int:
    return len(self.vocab)

  @classmethod
  def from_files(cls, vocab_json: str, merges_txt: str, **kwargs) -> "ClipTokenizer":
    """Hugging Face's files: vocab.json (token -> id) and merges.txt ('#version' header)."""
    for path in (vocab_json, merges_txt):
      if not os.path.isfile(path):
        raise UserError(f"tokenizer file {path} not found; a CLIP folder holds vocab.json and "
                        "merges.txt")
    with open(vocab_json, encoding="utf-8") as f:
      vocab = json.load(f)
    with open(merges_txt, encoding="utf-8") as f:
      lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines
              if line and not line.startswith("#version")]
    if any(len(m) != 2 for m in merges):
      raise UserError(f"{merges_txt} is not a merges file: every line must be two symbols")
    return cls(vocab, merges, **kwargs)

  @classmethod
  def from_directory(cls, path: str, **kwargs) -> "ClipTokenizer":
    return cls.from_files(os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt"),
                          **kwargs)

  def save(self, path: str) -> None:
    """Writes vocab.json and merges.txt in Hugging Face's format."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "vocab.json"), "w", encoding="utf-8") as f:
      json.dump(self.vocab, f, ensure_ascii=False)
    with open(os.path.join(path, "merges.txt"), "w", encoding="utf-8") as f:
      f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in self.merges))

  def encode(self, text: str) -> list[int]:
    """BPE ids of `text` without start/end tokens and without truncation."""
    return self._tok.encode(_clean(text), add_special_tokens=False).ids

  def __call__(self, texts: str | Iterable[str]) -> np.ndarray:
    """(N, context_length) int32: start, ids, end, padding; over-long text keeps end last."""
    if isinstance(texts, str):
      texts = [texts]
    texts = [_clean(t) for t in texts]
    out = np.full((len(texts), self.context_length), self.pad_id, np.int32)
    room = self.context_length - 2
    for row, enc in enumerate(self._tok.encode_batch(texts, add_special_tokens=False)):
      ids = [self.sot_id, *enc.ids[:room], self.eot_id]
      out[row, :len(ids)] = ids
    return out

  def decode(self, ids: Sequence[int]) -> str:
    """Text of ids (special tokens and padding dropped); '</w>' becomes a space."""
    keep = [int(i) for i in ids if int(i) not in (self.sot_id, self.eot_id, self.pad_id)]
    text = self._tok.decode(keep, skip_special_tokens=True)
    return " ".join(text.replace(_SUFFIX, " ").split())


def bytes_to_unicode() -> dict[int, str]:
  """GPT-2/CLIP's reversible map of the 256 byte values to printable characters.

  The order matters: it is the order of the first 512 vocabulary entries (printable bytes
  first, then the others mapped to chr(256 + k)), exactly as clip/simple_tokenizer.py builds it.
  """
  printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
               + list(range(ord("®"), ord("ÿ") + 1)))
  others = [b for b in range(256) if b not in printable]
  table = {b: chr(b) for b in printable}
  table.update({b: chr(256 + k) for k, b in enumerate(others)})
  return table


def clip_layout_vocab(merges: Sequence[tuple[str, str]]) -> dict[str, int]:
  """CLIP's vocabulary order: 256 byte symbols, the same with '</w>', merges, SOT, EOT last."""
  symbols = list(bytes_to_unicode().values())
  tokens = symbols + [s + _SUFFIX for s in symbols] + ["".join(m) for m in merges] + [SOT, EOT]
  vocab = {}
  for token in tokens:
    vocab.setdefault(token, len(vocab))
  return vocab


def train_tokenizer(texts: Iterable[str], *, num_merges: int,
                    context_length: int = CONTEXT_LENGTH) -> ClipTokenizer:
  """Learns up to `num_merges` BPE merges on `texts`, in CLIP's vocabulary layout.

  The text goes through the same `tokenizers` normaliser and pre-tokeniser as encoding; the
  merges are the most frequent adjacent pair, repeatedly, with ties broken by the pair's
  text. Learning is done here rather than by `tokenizers`' BpeTrainer because that trainer
  breaks ties in hash-map order, which differs between processes: a run must rebuild the
  exact vocabulary it trained with from its config (for evaluation and resumption).
  """
  if context_length < 2:
    raise UserError(f"context_length must be at least 2 (start and end), got {context_length}")
  tok = _configure(Tokenizer(models.BPE()))
  words = collections.Counter()
  for text in texts:
    normal = tok.normalizer.normalize_str(_clean(text))
    for piece, _ in tok.pre_tokenizer.pre_tokenize_str(normal):
      words[tuple(piece[:-1]) + (piece[-1] + _SUFFIX,)] += 1
  merges = []
  while len(merges) < num_merges:
    pairs = collections.Counter()
    for word, count in words.items():
      for pair in zip(word, word[1:]):
        pairs[pair] += count
    if not pairs:
      break
    best = min(pairs, key=lambda p: (-pairs[p], p))
    merges.append(best)
    words = collections.Counter({_merge(word, best): n for word, n in words.items()})
  return ClipTokenizer(clip_layout_vocab(merges), merges, context_length=context_length)


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
  out, i = [], 0
  while i < len(word):
    if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
      out.append(word[i] + word[i + 1])
      i += 2
    else:
      out.append(word[i])
      i += 1
  return tuple(out)
