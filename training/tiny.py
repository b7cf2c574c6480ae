"""A byte-level BPE tokenizer trained here with `tokenizers` (ChatML and think-tag specials, a training-ready chat
template), for tiny from-scratch students: tests and CPU labs. Nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .models import CHATML_TRAINING

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def train_tokenizer(corpus: Iterable[str], out_dir: str | Path, vocab_size: int = 512) -> Path:
    """Train, wrap as a `PreTrainedTokenizerFast` with the ChatML training template, save; returns the folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML_TRAINING
    out = Path(out_dir)
    fast.save_pretrained(str(out))
    return out
