"""Speed-ups that must not change a verdict: normalize's plain-number shortcut and memo, the in-process rules for
'x = 5' and 'no solutions' against a number, and the TRL reward's None for a gold that cannot be used."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from verifiers.math import areward, reward
from verifiers.math.core import fast_verify, verify_local
from verifiers.math.extract import extract
from verifiers.math.normalize import normalize, normalize_full

PEER = Path(__file__).resolve().parents[1] / "data" / "peer" / "math_verify_cases.jsonl"


def _peer_answers() -> list[str]:
    out = []
    for line in PEER.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(str(row["gold"]))
            x = extract(str(row["prediction"]))
            if x.found:
                out.append(x.answer.strip())
    return out


def test_normalize_shortcut_and_memo_equal_the_full_chain():
    answers = _peer_answers() + ["12", "-0.50", "007", "3.", "1,000", "12 345", "5%", "10^\\circ", "\\$4"]
    assert len(answers) > 200
    for a in answers:
        assert normalize(a) == normalize_full(a), a
        assert normalize(a) == normalize_full(a), a  # the memoized answer too
    s, flags = normalize("50\\%")
    flags["mutated"] = True  # a caller changing its flags must not change the memo
    assert "mutated" not in normalize("50\\%")[1]


@pytest.mark.parametrize(
    "gold,pred",
    [
        ("144", "So the answer is \\boxed{n = 5}"),
        ("5", "Hence \\boxed{x = 5}."),
        ("-0.5", "\\boxed{t=-0.5}"),
        ("600", "So \\boxed{x \\approx 600}"),
        ("600", "So \\boxed{x \\approx 599.7}"),
        ("2", "The equation has \\boxed{\\text{No solutions}}"),
        ("0", "\\boxed{\\emptyset}"),
    ],
)
def test_in_process_rules_agree_with_the_full_verifier(gold, pred):
    fast = fast_verify(gold, pred)
    assert fast is not None and fast.method.startswith("fast_")
    assert fast.equivalent == verify_local(gold, pred).equivalent


def test_a_system_of_assignments_gets_the_full_verifiers_verdict_not_the_number_rule():
    fast, full = fast_verify("5", "\\boxed{x = 5, y = 2}"), verify_local("5", "\\boxed{x = 5, y = 2}")
    assert fast is not None and not fast.method.startswith("fast_")  # the full parse + compare, run sympy-free
    assert (
        (fast.equivalent, fast.status, fast.method)
        == (full.equivalent, full.status, full.method)
        == (False, "ok", "unordered")
    )


@pytest.mark.parametrize(
    "gold,pred,expected",
    [
        ("(1,2)", "\\boxed{(1, 2)}", True),
        ("(6,31,-1)", "\\boxed{(3, 0, 0)}", False),
        ("1,-2", "\\boxed{-2, 1}", True),
        ("x=5", "\\boxed{5}", True),
        ("4210_{5}", "\\boxed{4210}", True),
        ("\\text{yes}", "\\boxed{\\text{Yes}}", True),
        ("50\\%", "\\boxed{0.5}", True),
        ("601", "\\boxed{(100, 100, 100)}", False),
        ("540", "\\boxed{192(4)+96=896}", False),
    ],
)
def test_sympy_free_shapes_are_decided_in_process_with_the_full_verdict(gold, pred, expected):
    fast, full = fast_verify(gold, pred), verify_local(gold, pred)
    assert fast is not None, "decidable without sympy: must not need a worker"
    assert (fast.equivalent, fast.status, fast.method) == (full.equivalent, full.status, full.method)
    assert fast.equivalent is expected


@pytest.mark.parametrize(
    "gold,pred",
    [
        ("3", "\\boxed{2\\cdot 3^2}"),  # arithmetic: sympy
        ("\\sqrt{2}", "\\boxed{\\frac{2}{\\sqrt{2}}}"),
        ("(2,\\infty)", "\\boxed{[2, \\infty)}"),  # intervals are sympy sets
        ("x^2+1", "\\boxed{1+x^2}"),
    ],
)
def test_what_needs_sympy_still_goes_to_a_worker(gold, pred):
    assert fast_verify(gold, pred) is None


def test_sympy_free_mode_refuses_sympy_through_every_except_clause():
    from verifiers.math.core import _decide, _prepare
    from verifiers.math.guards import NeedsSympy, sympy_free, sympy_module
    from verifiers.math.parse import Options

    with sympy_free():
        with pytest.raises(NeedsSympy):
            sympy_module()
        pre = _prepare("\\sqrt{2}", "\\boxed{\\frac{2}{\\sqrt{2}}}", Options())
        with pytest.raises(NeedsSympy):  # not swallowed into an 'error' or 'parse_error' verdict
            _decide(pre, Options())
    assert sympy_module().__name__ == "sympy"  # the mode ends with the block


def test_in_process_verdicts_equal_the_full_verifier_on_the_peer_suite():
    n = 0
    for line in PEER.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        gold, pred = str(row["gold"]), str(row["prediction"])
        fast = fast_verify(gold, pred)
        if fast is None:
            continue
        n += 1
        full = verify_local(gold, pred)
        assert (fast.equivalent, fast.status) == (full.equivalent, full.status), (row["id"], fast, full)
        if not fast.method.startswith("fast_"):
            assert fast.method == full.method, row["id"]
    assert n > 100


@pytest.mark.timeout(300)
def test_reward_gives_none_to_every_completion_of_an_unusable_gold():
    comps = ["The answer is \\boxed{5}", "no answer here", "I think \\boxed{\\frac{}", "\\boxed{5}"]
    sols = ["\\frac{", "\\frac{", "\\frac{", "5"]
    assert reward(comps, sols, timeout_ms=20000) == [None, None, None, 1.0]
    assert asyncio.run(areward(comps, sols, timeout_ms=20000)) == [None, None, None, 1.0]
    with pytest.raises(ValueError, match="solution"):
        reward(comps, sols[:2])


def test_package_reward_stays_the_function_after_calls():
    import verifiers.math as vm

    assert vm.reward(["\\boxed{2}"], ["2"]) == [1.0]
    assert callable(vm.reward) and vm.reward(["\\boxed{2}"], ["3"]) == [0.0]  # was the submodule by now


@pytest.mark.timeout(300)
def test_batch_sends_one_pair_per_distinct_answer_and_keeps_each_span():
    from verifiers.math import verify, verify_batch

    texts = ["So \\boxed{2\\sqrt{2}}.", "We get $y$, hence the answer is \\boxed{2\\sqrt{2}}", "\\boxed{3\\sqrt{2}}"]
    pairs = [("\\sqrt{8}", t) for t in texts]
    batch = verify_batch(pairs, workers=2, timeout_ms=20000)
    one = [verify(g, p, timeout_ms=20000) for g, p in pairs]
    assert [v.equivalent for v in batch] == [v.equivalent for v in one] == [True, True, False]
    assert [(v.extracted_pred, v.pred_span, v.method) for v in batch] == [
        (v.extracted_pred, v.pred_span, v.method) for v in one
    ]
    assert batch[0].pred_span != batch[1].pred_span  # the copy carries its own offsets


def test_tail_junk_scan_equals_its_regex():
    import random
    import sys

    import verifiers.math  # noqa: F401

    x = sys.modules["verifiers.math.extract"]  # the package attribute `extract` is the function
    rng = random.Random(0)
    parts = [
        " ",
        "\n",
        "\t",
        "\u00a0",
        ".",
        "!",
        ")",
        "*",
        "<|",
        "|>",
        "im_end",
        "_",
        "<",
        ">",
        "|",
        "x",
        "5",
        "(",
        "<|eot_id|>",
        "<|im_end|>",
        "A",
    ]
    for _ in range(20000):
        t = "".join(rng.choice(parts) for _ in range(rng.randint(0, 12)))
        s = rng.randint(0, len(t))
        e = rng.randint(s, len(t))
        assert x.tail_junk_start(t, s, e) == x._TAIL_JUNK.search(t, s, e).start(), (t, s, e)


def test_atom_cache_keeps_immutable_parses_and_gives_the_same_verdicts():
    import sys

    import verifiers.math  # noqa: F401

    p = sys.modules["verifiers.math.parse"]  # the package attribute `parse` is the function
    p._ATOM_CACHE.data.clear()
    gold = "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]"
    first = [
        verify_local(gold, f"\\boxed{{[\\frac{{\\pi^2}}{{8}}, {x}]}}")
        for x in ("\\frac{\\pi^2}{4}", "\\frac{5\\pi^2}{4}")
    ]
    assert any("\\pi^2" in k for k in p._ATOM_CACHE.data)
    again = [
        verify_local(gold, f"\\boxed{{[\\frac{{\\pi^2}}{{8}}, {x}]}}")
        for x in ("\\frac{\\pi^2}{4}", "\\frac{5\\pi^2}{4}")
    ]
    assert (
        [(v.equivalent, v.method) for v in first]
        == [(v.equivalent, v.method) for v in again]
        == [(False, "ordered"), (True, "ordered")]
    )
    m = "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"
    assert verify_local(m, "\\boxed{\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}}").equivalent is False
    assert not any("pmatrix" in k for k in p._ATOM_CACHE.data)  # a matrix may be mutable: never shared


def test_connector_strip_template_equals_the_group_rule():
    import random
    import sys

    import verifiers.math  # noqa: F401

    x = sys.modules["verifiers.math.extract"]
    rng = random.Random(1)
    parts = [
        "\\text{",
        "\\mathrm{",
        "\\textbf{",
        "\\mbox {",
        "}",
        "{",
        "and",
        " ",
        ",",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\quad",
        "\\qquad",
        "\\,",
        "\\;",
        "\\\\",
        "or",
        "x",
        "\\[",
        "\\]",
        "\\!",
        "1",
    ]
    for _ in range(20000):
        t = "".join(rng.choice(parts) for _ in range(rng.randint(0, 10)))
        want = x._CONNECT_STRIP.sub(lambda m: " " + (m.group(1) or m.group(2) or "") + " ", t)
        assert x._CONNECT_STRIP.sub(x._CONNECT_REPL, t) == want, t


def test_connector_rule_unchanged_on_random_betweens():
    import random
    import re
    import sys

    import verifiers.math  # noqa: F401

    x = sys.modules["verifiers.math.extract"]

    def reference(between: str) -> bool:  # the rule as first written: strip, then drop a trailing 'name ='
        s = x._CONNECT_STRIP.sub(lambda m: " " + (m.group(1) or m.group(2) or "") + " ", between)
        s = s.strip().lower()
        s = re.sub(r"(?:[a-z]\w*(?:_\{?\w+\}?)?|\([a-z, ]+\))\s*=\s*$", "", s).strip()
        if not re.search(r"[a-z0-9]", s):
            return True
        words = re.findall(r"[a-z0-9]+", s)
        return len(words) <= 6 and words[-1] in ("and", "or") and not re.search(r"[.!?]\s", s)

    rng = random.Random(2)
    parts = [
        "x",
        "y_1",
        "=",
        " = ",
        " ",
        "\n",
        "and",
        "or",
        ",",
        ".",
        ". ",
        "(a, b)",
        "\\text{and}",
        "$",
        "\\quad",
        "is",
        "so",
        "=\n",
        "\\(",
        "\\)",
        "A",
        "?",
        " or ",
    ]
    for _ in range(20000):
        t = "".join(rng.choice(parts) for _ in range(rng.randint(0, 9)))
        assert x._is_connector(t) == reference(t), t
