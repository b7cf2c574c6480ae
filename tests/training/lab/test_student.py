"""The lab student: a tokenizer trained here and a tiny Llama, saved and reloaded through transformers' Auto classes."""

from __future__ import annotations

import random

import pytest

from training.lab.student import END_THINK, IM_END, THINK, StudentSpec, build_student
from training.lab.tasks import generate
from training.lab.teachers import DEFAULT_TEACHERS, answer


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    rng = random.Random(0)
    probs = generate(60, seed=2)
    texts = [p.text for p in probs] + [
        r["response"] for t in DEFAULT_TEACHERS[:2] for p in probs for r in answer(p, t, rng)
    ]
    spec = StudentSpec(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
    )
    return build_student(tmp_path_factory.mktemp("student"), texts, spec), probs


MSGS = [
    {"role": "user", "content": "Solve for x: 3x + 7 = 22."},
    {"role": "assistant", "content": "<think>\n22 - 7 = 15\n15 ÷ 3 = 5\n</think>\n\nThe answer is \\boxed{5}."},
]


def test_reloads_with_auto_classes_and_generates(student):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, _ = student
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == "llama" and model.config.vocab_size == len(tok)
    assert model.config.eos_token_id == tok.convert_tokens_to_ids(IM_END) == tok.eos_token_id
    assert tok.pad_token_id != tok.eos_token_id
    prompt = tok.apply_chat_template(MSGS[:1], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]


def test_default_student_has_a_few_million_parameters():
    from transformers import PreTrainedTokenizerFast

    from training.lab.student import build_model, train_tokenizer

    tok = train_tokenizer([p.text for p in generate(50, seed=0)], vocab_size=300)
    assert isinstance(tok, PreTrainedTokenizerFast)
    n = build_model(tok, StudentSpec()).num_parameters()
    assert 1_000_000 <= n <= 10_000_000


def test_digits_are_single_tokens_and_think_tags_survive_decoding(student):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(student[0])
    pieces = tok.tokenize("136 mod 7 = 3")
    assert [p for p in pieces if any(c.isdigit() for c in p)] == ["1", "3", "6", "7", "3"]
    text = "<think>\n15 ÷ 3 = 5\n</think>\nThe answer is \\boxed{5}."
    ids = tok(text)["input_ids"]
    assert tok.convert_tokens_to_ids(THINK) in ids and tok.convert_tokens_to_ids(END_THINK) in ids
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_chat_template_masks_the_assistant_turn_through_im_end(student):
    """TRL's assistant_only_loss needs {% generation %} markers whose span ends on the end-of-turn token."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    tok = AutoTokenizer.from_pretrained(student[0])
    assert has_generation_markers(tok.chat_template)
    assert is_chat_template_stop_token_trained(tok)
    enc = tok.apply_chat_template(MSGS, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tok.decode(masked) == MSGS[1]["content"] + IM_END
    rendered = tok.apply_chat_template(MSGS, tokenize=False)
    assert rendered.startswith("<|im_start|>user\nSolve for x") and "<think>\n22 - 7 = 15" in rendered
    with_reasoning = tok.apply_chat_template(
        [MSGS[0], {"role": "assistant", "content": "The answer is 5.", "reasoning_content": "22 - 7 = 15"}],
        tokenize=False,
    )
    assert "<|im_start|>assistant\n<think>\n22 - 7 = 15\n</think>\n\nThe answer is 5.<|im_end|>" in with_reasoning
