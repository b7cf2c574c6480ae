"""The lab's student: a byte-level BPE tokenizer trained on the lab's own text and a tiny Llama built from a config.

Both are saved as one transformers folder (`save_pretrained`), so `AutoTokenizer.from_pretrained` and
`AutoModelForCausalLM.from_pretrained` load it like any hub model and `cotforge train` needs no special path.

    python -m training.lab.student manifests/lab/data/student --lab manifests/lab/data

Tokenizer: digits are split one per token (arithmetic is learnable digit by digit; a BPE that merges "136" into
one token makes every number a separate fact to memorise); ChatML special tokens `<|im_start|>`, `<|im_end|>`
(end of turn = EOS) and `<|pad|>`; `<think>` / `</think>` are added tokens that are *not* special, so decoding with
`skip_special_tokens=True` keeps the reasoning's tags (as Qwen3 does). The chat template renders the assistant
turn verbatim (the exported `<think>…</think>` stays in it, or a `reasoning_content` field is wrapped in the
tags) inside `{% generation %}` markers that end on `<|im_end|>`, which TRL's `assistant_only_loss` needs to mask
the prompt and to train the model to stop.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<|pad|>"
THINK, END_THINK = "<think>", "</think>"

# Jinja; "\n" inside the string literals is a newline. The assistant's trailing newline sits outside the
# generation block so the masked span ends on <|im_end|> (trl.chat_template_utils.is_chat_template_stop_token_trained).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}"
    "{%- if message.get('reasoning_content') -%}"
    "{{- '<think>\\n' + message['reasoning_content'] + '\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{{- message['content'] + '<|im_end|>' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


@dataclass(frozen=True)
class StudentSpec:
    """A few million parameters: trains from scratch on 2 CPU cores in minutes."""

    vocab_size: int = 1024
    hidden_size: int = 256
    intermediate_size: int = 704
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 1024
    seed: int = 0


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> Any:
    """A `PreTrainedTokenizerFast` trained on `texts`, with the chat template and special tokens set."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens(
        [AddedToken(THINK, special=False, normalized=False), AddedToken(END_THINK, special=False, normalized=False)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD,
        bos_token=None,
        unk_token=None,
        model_max_length=1024,
        padding_side="right",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def lab_texts(lab_dir: Path) -> Iterator[str]:
    """Every problem and teacher response of a lab folder (training/lab/build.py), for the tokenizer."""
    for name, key in (("pool.jsonl", "problem"), ("test.jsonl", "problem"), ("traces.jsonl", "response")):
        path = lab_dir / name
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: build the lab folder first (python -m training.lab.build {lab_dir})"
            )
        with path.open() as f:
            for line in f:
                yield json.loads(line)[key]


def build_model(tokenizer: Any, spec: StudentSpec = StudentSpec()) -> Any:
    """A randomly initialised tiny Llama whose special-token ids match `tokenizer`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        rope_theta=10000.0,
    )
    torch.manual_seed(spec.seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def build_student(out: Path | str, texts: Iterable[str], spec: StudentSpec = StudentSpec()) -> Path:
    """Write tokenizer + untrained model into `out` (a transformers folder); returns `out`."""
    out = Path(out)
    tok = train_tokenizer(texts, spec.vocab_size)
    model = build_model(tok, spec)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    model.save_pretrained(out)
    (out / "lab_student.json").write_text(
        json.dumps({**asdict(spec), "parameters": model.num_parameters()}, indent=2) + "\n"
    )
    return out


def init_student(tokenizer_dir: Path | str, out: Path | str, spec: StudentSpec) -> Path:
    """Another untrained student (`spec.seed` seeds its weights) with the tokenizer of `tokenizer_dir`: seeds share
    one tokenizer, trained once, and differ only in their initial weights."""
    from transformers import AutoTokenizer

    out = Path(out)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = build_model(tok, spec)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    model.save_pretrained(out)
    (out / "lab_student.json").write_text(
        json.dumps({**asdict(spec), "parameters": model.num_parameters()}, indent=2) + "\n"
    )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--lab", required=True, help="lab folder (training/lab/build.py) whose text trains the tokenizer")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    out = build_student(a.out, lab_texts(Path(a.lab)), StudentSpec(seed=a.seed))
    print(json.loads((out / "lab_student.json").read_text()))


if __name__ == "__main__":
    main()
