"""quantify's statistics on hand-computed values, and a whole run against replayed models with known answers."""

from __future__ import annotations

import json
import math
import re

import pytest
import yaml

from training.quantify import gain, identity
from training.quantify.benchmarks import Item, load_benchmark


def test_pass_at_k_is_the_unbiased_estimator():
    assert gain.pass_at_k(4, 0, 1) == 0.0
    assert gain.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert gain.pass_at_k(4, 1, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))  # 0.5
    assert gain.pass_at_k(4, 3, 2) == 1.0
    with pytest.raises(ValueError):
        gain.pass_at_k(2, 1, 4)


def test_pass1_sem_uses_one_benchmark_score_per_sample_index():
    correct = [[True, False, True, True], [False, False, True, False], [True, True, True, False]]
    # per sample index: 2/3, 1/3, 3/3, 1/3 → mean 7/12; sample std (ddof 1) / √4
    per_index = [2 / 3, 1 / 3, 1.0, 1 / 3]
    mean = sum(per_index) / 4
    sd = math.sqrt(sum((s - mean) ** 2 for s in per_index) / 3)
    m, sem = gain.pass1_with_sem(correct)
    assert m == pytest.approx(7 / 12) and sem == pytest.approx(sd / 2)
    assert gain.pass1_with_sem([[True], [False]]) == (0.5, None)


def test_gap_recovered_needs_a_teacher_that_beats_the_base():
    assert gain.gap_recovered(0.2, 0.5, 0.8) == pytest.approx(0.5)
    assert gain.gap_recovered(0.2, 0.5, None) is None
    assert gain.gap_recovered(0.6, 0.5, 0.6) is None


def test_scoring_runs_the_real_verifier_and_sandbox():
    items = [
        Item("m", "x", "math", answer="\\frac{1}{2}"),
        Item("c", "y", "code", tests={"kind": "assert", "asserts": ["assert f(2) == 4"], "setup": None}),
    ]
    samples = gain.Samples(
        [
            ["so it is \\boxed{0.5}", "\\boxed{2}"],
            ["```python\ndef f(x):\n    return x * 2\n```", "```python\ndef f(x):\n    return x\n```"],
        ]
    )
    assert gain.correctness(items, samples, workers=1) == [[True, False], [True, False]]


def test_bundled_benchmarks_load_math_and_code_items():
    gsm = load_benchmark("gsm8k", limit=3)
    assert len(gsm) == 3 and gsm[0].domain == "math" and gsm[0].answer
    he = load_benchmark("humaneval", limit=2)
    assert he[0].domain == "code" and he[0].tests["kind"] == "humaneval" and he[0].tests["entry_point"]
    with pytest.raises(Exception, match="unknown benchmark"):
        load_benchmark("no-such-bench")


@pytest.mark.parametrize(
    "response,loose,strict",
    [
        ("I am ChatGPT, a model developed by OpenAI.", True, True),
        ("I'm Qwen, created by Alibaba Cloud.", True, False),
        ("I am TinyStudent, developed by Example Labs.", False, False),
        ("ChatGPT is developed by OpenAI; I cannot say more about that.", False, False),  # third person, no claim
        ("[Claude]: I am Claude, made by Anthropic.", False, False),  # role-play transcript
        ("我是通义千问，由阿里云开发。", True, False),
        ("I am SmolLM, trained by Hugging Face.", False, False),  # the fact's own identity
    ],
)
def test_rule_judge(response, loose, strict):
    assert identity.rule_judge(["huggingface"])(response) == (loose, strict)


def _answers(student_right: dict[str, list[bool]]):
    def answer(prompt: str, i: int) -> str:
        m = re.search(r"What is (\d+) \+ (\d+)\?", prompt)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            key = f"{a}+{b}"
            ok = student_right.get(key, [False] * 8)[i]
            return f"<think>{a} plus {b}</think> The answer is \\boxed{{{a + b if ok else a + b + 1}}}."
        if student_right.get("identity") == "gpt":
            return "I am ChatGPT, developed by OpenAI."
        return "I am TinyStudent, developed by Example Labs. First, I think. Then I answer."

    return answer


def test_quantify_end_to_end_on_replayed_models_with_known_answers(tmp_path, openai_server):
    from training.config import load_quantify
    from training.quantify.run import quantify

    bench = tmp_path / "add.jsonl"
    bench.write_text(
        "".join(
            json.dumps({"id": f"p{a}", "problem": f"What is {a} + {a + 1}?", "answer": str(2 * a + 1)}) + "\n"
            for a in (1, 2, 3)
        )
    )
    base = openai_server(answer=_answers({"identity": "gpt"}))
    student = openai_server(
        answer=_answers(
            {"1+2": [True, True, False, True], "2+3": [False, True, False, False], "3+4": [True, True, True, True]}
        )
    )
    teacher = openai_server(answer=_answers({k: [True] * 4 for k in ("1+2", "2+3", "3+4")}))
    models = {
        name: {"backend": "openai", "model": "m", "openai": {"base_url": s.base_url, "max_retries": 0}}
        for name, s in (("base", base), ("student", student), ("teacher", teacher))
    }
    cfg_path = tmp_path / "q.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {
                "models": models,
                "generation": {"max_tokens": 64, "n": 4, "temperature": 0.7},
                "benchmarks": [{"name": str(bench)}],
                "prompt_template": "{problem}",
                "identity": {"fact": "I am TinyStudent, developed by Example Labs.", "languages": ["en"]},
                "similarity": {"reference": "teacher", "test": "student", "benchmark": {"name": str(bench)}},
                "output_dir": str(tmp_path / "out"),
                "workers": 1,
            }
        )
    )
    res = quantify(load_quantify(cfg_path))
    g = res["gain"]["add"]
    assert g["base"]["pass@1"] == 0.0 and g["teacher"]["pass@1"] == 1.0
    assert g["student"]["pass@1"] == pytest.approx(8 / 12)  # 3 + 1 + 4 of 12 samples
    per_index = [2 / 3, 1.0, 1 / 3, 2 / 3]
    mean = sum(per_index) / 4
    assert g["student"]["pass@1_sem"] == pytest.approx(math.sqrt(sum((s - mean) ** 2 for s in per_index) / 3) / 2)
    # pass@2 per problem: 1 − C(1,2)/C(4,2) = 1, 1 − C(3,2)/C(4,2) = 0.5, 1 → mean 5/6
    assert g["student"]["pass@2"] == pytest.approx(5 / 6)
    assert g["gap_recovered"] == pytest.approx(8 / 12)
    ident = res["identity"]
    assert ident["base"]["strict_rate"] == 1.0 and ident["student"]["loose_rate"] == 0.0
    assert ident["student"]["asked"] == len(identity.probes(["en"]))
    sim = res["similarity"]
    assert 0.0 < sim["proxy_surface_rougeL"] < 1.0 and sim["n"] == 3
    saved = json.loads((tmp_path / "out" / "quantify.json").read_text())
    assert saved["gain"]["add"]["student"]["pass@1"] == g["student"]["pass@1"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Distillation gain" in html and "data:image/png;base64" in html and "Identity consistency" in html
