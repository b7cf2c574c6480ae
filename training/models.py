"""Load (or build) the student and its tokenizer with a chat template fit for training on long CoT.

The template matters twice: TRL's assistant-only loss needs `{% generation %}` markers, and stage 1 (SFT) and
stage 2 (REDI) must tokenize a conversation identically, reasoning included. Templates that drop the reasoning
(DeepSeek-R1-Distill's strips everything before `</think>`) would silently train on answers only, so they are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.errors import UserError

from .config import ModelSpec, TinyInit

# ChatML with generation markers; content is rendered verbatim, so `<think>…</think>` reasoning stays in.
CHATML_TRAINING = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
PROBE_REASONING = "PROBE-REASONING-7Q"
PROBE = [
    {"role": "user", "content": "q"},
    {"role": "assistant", "content": f"<think>\n{PROBE_REASONING}\n</think>\n\nPROBE-ANSWER"},
]


def keeps_reasoning(tokenizer: Any) -> bool:
    return PROBE_REASONING in tokenizer.apply_chat_template(PROBE, tokenize=False)


def training_template(tokenizer: Any, choice: str = "auto") -> str:
    """The chat template to train with: the tokenizer's own when it is fit, TRL's patched version, or ChatML."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if choice == "chatml":
        if "<|im_start|>" not in tokenizer.get_vocab():
            raise UserError(
                "model.chat_template: chatml needs <|im_start|>/<|im_end|> tokens, which this tokenizer "
                "lacks; use `auto` or a .jinja file written for its special tokens"
            )
        return CHATML_TRAINING
    if choice != "auto":
        p = Path(choice)
        if not p.exists():
            raise UserError(f"model.chat_template: {p} not found (auto | chatml | a .jinja file)")
        return p.read_text()
    own = tokenizer.chat_template
    if isinstance(own, dict):
        own = own.get("default")
    if not own:
        if "<|im_start|>" in tokenizer.get_vocab():
            return CHATML_TRAINING
        raise UserError("model: the tokenizer has no chat template; set model.chat_template to a .jinja file")
    if has_generation_markers(own):
        return own
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        patched = None
    if patched:
        return patched
    if "<|im_start|>" in tokenizer.get_vocab() and "<|im_start|>" in own:
        return CHATML_TRAINING  # a ChatML variant TRL does not know (SmolLM2's): same rendering, with markers
    raise UserError(
        "model: the tokenizer's chat template has no {% generation %} markers and TRL cannot patch it; "
        "set model.chat_template to `chatml` or to a .jinja file with generation markers"
    )


def load_tokenizer(spec: ModelSpec) -> Any:
    from transformers import AutoTokenizer

    src = spec.init.tokenizer if spec.init is not None else spec.path
    try:
        tok = AutoTokenizer.from_pretrained(src)
    except (OSError, ValueError) as e:
        raise UserError(
            f"model: cannot load a tokenizer from {src!r} (a local folder, or a hub id already in the HF cache): {e}"
        ) from e
    tok.chat_template = training_template(tok, spec.chat_template)
    if not keeps_reasoning(tok):
        raise UserError(
            "model: the chat template drops the reasoning of assistant turns (it would train on answers "
            "only); set model.chat_template to `chatml` or a template that renders content verbatim"
        )
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if "<|im_end|>" in tok.get_vocab() and tok.chat_template == CHATML_TRAINING:
        tok.eos_token = "<|im_end|>"  # generation must stop at the end of the assistant turn
    return tok


def _dtype(name: str) -> Any:
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def build_tiny(init: TinyInit, tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(init.seed)
    cfg_cls, model_cls = (
        (LlamaConfig, LlamaForCausalLM) if init.architecture == "llama" else (Qwen2Config, Qwen2ForCausalLM)
    )
    cfg = cfg_cls(
        vocab_size=len(tokenizer),
        hidden_size=init.hidden_size,
        intermediate_size=init.intermediate_size,
        num_hidden_layers=init.num_hidden_layers,
        num_attention_heads=init.num_attention_heads,
        num_key_value_heads=init.num_key_value_heads,
        max_position_embeddings=init.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    return model_cls(cfg)


def load_model(spec: ModelSpec, tokenizer: Any) -> Any:
    from transformers import AutoModelForCausalLM

    if spec.init is not None:
        return build_tiny(spec.init, tokenizer)
    kw: dict[str, Any] = {"dtype": _dtype(spec.dtype)}
    if spec.attn_implementation:
        kw["attn_implementation"] = spec.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(spec.path, **kw)
    except (OSError, ValueError) as e:
        raise UserError(
            f"model: cannot load {spec.path!r} with transformers (a local folder, or a hub id already in "
            f"the HF cache): {e}"
        ) from e
    if tokenizer.eos_token_id is not None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def lora_config(spec: Any) -> Any:
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules,
        task_type="CAUSAL_LM",
    )


def tokenize_conversation(tokenizer: Any, messages: list[dict]) -> tuple[list[int], list[int]]:
    """input_ids and the assistant-token mask, exactly as TRL's SFTTrainer tokenizes a `messages` row."""
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    return list(out["input_ids"]), list(out["assistant_masks"])
