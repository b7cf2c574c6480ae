"""Tiny from-scratch students (a BPE tokenizer trained here + a 2-layer model) and data in the export formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

PROBLEMS = [(f"What is {a} + {b}?", str(a + b)) for a, b in [(2, 3), (7, 5), (11, 4), (9, 9), (13, 8), (6, 1)]]


def messages(problem: str, answer: str, reasoning: str | None = None) -> list[dict]:
    reasoning = reasoning or f"Add the two numbers: the sum is {answer}."
    return [
        {"role": "user", "content": problem},
        {"role": "assistant", "content": f"<think>\n{reasoning}\n</think>\n\nThe answer is \\boxed{{{answer}}}."},
    ]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def tok_dir(tmp_path_factory) -> Path:
    from training.tiny import train_tokenizer

    corpus = []
    for p, a in PROBLEMS:
        corpus += [m["content"] for m in messages(p, a)] + [f"The answer is \\boxed{{{int(a) + 1}}}."]
    corpus += ["Wait, let me check again. Who developed you? I am a model. 0123456789 + - = ( ) { } \\boxed"] * 3
    return train_tokenizer(corpus * 4, tmp_path_factory.mktemp("tok") / "tok", vocab_size=400)


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> Path:
    """trl-sft, trl-preference and trl-prompt files as `cotforge export` writes them (column names and shapes)."""
    root = tmp_path_factory.mktemp("export")
    sft = [{"messages": messages(p, a), "query_id": f"q{i}", "teacher": "t"} for i, (p, a) in enumerate(PROBLEMS)]
    write_jsonl(root / "trl-sft" / "train.jsonl", sft)
    pref = []
    for i, (p, a) in enumerate(PROBLEMS):
        m_ok, m_bad = messages(p, a), messages(p, str(int(a) + 1), "Add them: I get a different sum.")
        pref.append(
            {
                "prompt": m_ok[:1],
                "chosen": m_ok[1:],
                "rejected": m_bad[1:],
                "query_id": f"q{i}",
                "rejected_finish_reason": "length" if i == 5 else "stop",
            }
        )
    write_jsonl(root / "trl-preference" / "train.jsonl", pref)
    prompts = [
        {"prompt": [{"role": "user", "content": p}], "solution": a, "tests": None, "query_id": f"q{i}"}
        for i, (p, a) in enumerate(PROBLEMS)
    ]
    write_jsonl(root / "trl-prompt" / "train.jsonl", prompts)
    return root


@pytest.fixture
def recipe(tmp_path, tok_dir, export_dir):
    """Write a recipe YAML for a tiny random student; returns its path."""

    def make(kind_data: str, trainer: dict | None = None, **extra) -> Path:
        cfg = {
            "model": {
                "init": {
                    "tokenizer": str(tok_dir),
                    "hidden_size": 64,
                    "intermediate_size": 128,
                    "num_attention_heads": 2,
                    "num_key_value_heads": 1,
                },
                "dtype": "float32",
            },
            "data": {"path": str(export_dir / kind_data)},
            "trainer": {
                "max_steps": 4,
                "per_device_train_batch_size": 2,
                "learning_rate": 3e-3,
                "logging_steps": 1,
                **(trainer or {}),
            },
            "output_dir": str(tmp_path / "out"),
            **extra,
        }
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return make
