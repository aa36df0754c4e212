"""Text side of image-text models: CLIP's byte-level BPE tokenizer (Hugging Face `tokenizers`)."""

from jaxvision.text.tokenizer import ClipTokenizer, train_tokenizer

__all__ = ["ClipTokenizer", "train_tokenizer"]
