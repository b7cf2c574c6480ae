"""Audit numbers checked against independent computations on the fixture's source rows (real SkyThought outputs)."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).with_name("rundir_factory.py"))
rundir_factory = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("rundir_factory", rundir_factory)
_spec.loader.exec_module(rundir_factory)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    from curation.audit import AuditOptions, run_audit

    root = tmp_path_factory.mktemp("audit")
    store = rundir_factory.build_run(root / "run")
    result = run_audit(store.root, root / "out", AuditOptions(embeddings=False))
    return store, root / "out", result


def _expected_from_rows():
    """Per teacher (correct, truncated, n) straight from the JSONL rows, not from the run tables."""
    out = defaultdict(Counter)
    for r in rundir_factory.load_rows():
        t = rundir_factory.short_name(r["teacher"])
        truncated = "\\boxed" not in r["response"]
        out[t]["n"] += 1
        out[t]["truncated"] += truncated
        out[t]["correct"] += (not truncated) and r["is_correct_math_verify"]
    return out


def _verdicts():
    out = {}
    for r in rundir_factory.load_rows():
        truncated = "\\boxed" not in r["response"]
        out[(r["problem"], rundir_factory.short_name(r["teacher"]))] = (
            "truncated" if truncated else ("correct" if r["is_correct_math_verify"] else "incorrect"))
    return out


def test_pass_rates_and_failure_rates_match_source_rows(full):
    _, out, result = full
    saved = json.loads((out / "audit.json").read_text())
    assert saved["summary"] == result["summary"]
    exp = _expected_from_rows()
    rows = {r["teacher"]: r for r in saved["pass_rate"]["overall"]}
    assert set(rows) == set(exp) and len(rows) == 5
    for t, e in exp.items():
        assert rows[t]["n"] == e["n"] == 14
        assert rows[t]["correct_n"] == e["correct"]
        assert rows[t]["pass_rate"] == pytest.approx(e["correct"] / e["n"])
        assert rows[t]["truncation_rate"] == pytest.approx(e["truncated"] / e["n"])
        assert rows[t]["ci_low"] <= rows[t]["pass_rate"] <= rows[t]["ci_high"]
    # Wilson interval for 9/14 (Sky-T1 27B and Qwen2.5-Math-7B here), value from the textbook formula
    nine = [r for r in rows.values() if r["correct_n"] == 9]
    assert nine, "fixture should contain a 9/14 teacher"
    assert nine[0]["ci_low"] == pytest.approx(0.3881, abs=1e-3) and nine[0]["ci_high"] == pytest.approx(0.8366,
                                                                                                           abs=1e-3)
    # 14/14: upper bound is exactly 1, lower bound n/(n+z²)
    full_rows = [r for r in rows.values() if r["correct_n"] == 14]
    assert full_rows[0]["ci_high"] == pytest.approx(1.0)
    assert full_rows[0]["ci_low"] == pytest.approx(14 / (14 + 1.959964 ** 2), abs=1e-4)


def test_difficulty_buckets_partition_the_samples(full):
    _, _, result = full
    by = result["pass_rate"]["by_difficulty"]
    per_teacher = defaultdict(int)
    for r in by:
        per_teacher[r["teacher"]] += r["n"]
    assert all(v == 14 for v in per_teacher.values())
    # queries every teacher solves are in the easiest bucket with pass rate 1
    easiest = [r for r in by if r["difficulty_bucket"].startswith("solved by all")]
    assert easiest and all(r["pass_rate"] == 1.0 for r in easiest)


def test_structure_and_agreement_against_direct_computation(full):
    store, _, result = full
    traces = pl.read_parquet(store.parts("select", "traces")[0])
    approaches = defaultdict(list)
    for t, segs in zip(traces["teacher"], traces["segments"]):
        approaches[t].append(len({s["approach"] for s in segs if s["kind"] == "approach"}))
    rows = {r["teacher"]: r for r in result["structure"]["summary"]}
    for t, v in approaches.items():
        assert rows[t]["approaches_mean"] == pytest.approx(sum(v) / len(v))
    red = {r["teacher"]: r["token_reduction"] for r in result["structure"]["summary"]}
    for t in approaches:
        sub = traces.filter(pl.col("teacher") == t)
        assert red[t] == pytest.approx(1 - sub["simplified_tokens"].sum() / sub["reasoning_tokens"].sum())
    # answer agreement, by hand: two correct answers agree, correct vs incorrect disagree, otherwise the
    # extracted answers must match (whitespace/$ removed, lower case)
    verdict = {(p, t): v for (p, t), v in _verdicts().items()}
    answer = {(r["problem"], rundir_factory.short_name(r["teacher"])):
              re.sub(r"\s|\$", "", r["pred_answer_source"] or "").lower().strip(".") or None
              for r in rundir_factory.load_rows()}
    problems = {p for p, _ in verdict}
    a_t, b_t = "Qwen2.5-Math-7B", "gemma-2-27b-it"
    agree = []
    for p in problems:
        va, vb = verdict[(p, a_t)], verdict[(p, b_t)]
        if va == vb == "correct":
            agree.append(1)
        elif {va, vb} == {"correct", "incorrect"}:
            agree.append(0)
        elif answer[(p, a_t)] and answer[(p, b_t)]:
            agree.append(int(answer[(p, a_t)] == answer[(p, b_t)]))
    pair = next(p for p in result["agreement"]["pairs"] if (p["teacher_a"], p["teacher_b"]) == (a_t, b_t))
    assert pair["shared_queries"] == len(problems) and pair["answers_compared"] == len(agree)
    assert pair["answer_agreement"] == pytest.approx(sum(agree) / len(agree))
    assert 0 < pair["answer_agreement"] < 1


def test_ranking_shows_criteria_and_orders_by_score(full):
    _, _, result = full
    table = result["ranking"]["table"]
    scores = [r["score"] for r in table]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in table] == [1, 2, 3, 4, 5]
    keys = {c["key"] for c in result["ranking"]["criteria"]}
    assert {"pass_rate", "truncation_rate", "tokens_correct", "distinct_2"} <= keys
    assert "ppl_mean" in result["ranking"]["not_used"]
    assert sum(c["weight"] for c in result["ranking"]["criteria"]) == pytest.approx(1.0, abs=1e-3)
    # the 100%-pass, never-truncated teachers must outrank the 64%-pass, 21%-truncated one
    order = [r["teacher"] for r in table]
    assert order.index("Sky-T1-math-correct-5K-27B") > order.index("Qwen2.5-14B-Instruct")


def test_report_files_self_contained(full):
    _, out, result = full
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html), "report must not fetch anything"
    imgs = re.findall(r'src="data:image/png;base64,', html)
    assert len(imgs) == len(result["figures"]) >= 6
    for f in result["figures"]:
        data = (out / f).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert html.count('class="sortable"') >= 8


def test_audit_degrades_without_segment_and_select(tmp_path):
    from curation.audit import AuditOptions, run_audit

    store = rundir_factory.build_run(tmp_path / "run", segments=False, select=False)
    result = run_audit(store.root, tmp_path / "out", AuditOptions(embeddings=False))
    assert result["structure"] == {"computed": False, "reason": "no segments column (segment stage did not run)"}
    assert result["length"]["token_column"] == "completion_tokens"
    # difficulty recomputed from verdicts when select did not run
    assert sum(r["n"] for r in result["pass_rate"]["by_difficulty"]) == 70
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Not computed: this run has no <code>segments</code> column" in html
    assert "figures/structure.png" not in result["figures"]


def test_audit_without_verdicts(tmp_path):
    """A run stopped after distill: no verdicts → pass rates 'not computed', lengths still reported."""
    from curation.audit import AuditOptions, run_audit
    from curation.store import RunStore

    store = rundir_factory.build_run(tmp_path / "run", segments=False, select=False)
    for s in ("verify",):
        store.reset_stage(s)
    store.refresh_catalog(["collect", "dedup", "decontaminate", "distill"])
    result = run_audit(RunStore(store.root).root, tmp_path / "out", AuditOptions(embeddings=False))
    assert result["pass_rate"]["computed"] is False
    assert "pass_rate" not in {c["key"] for c in result["ranking"]["criteria"]}
    assert result["length"]["distribution"] and result["diversity"]["distinct_n"]


def test_distinct_n_exact():
    from curation.audit.diversity import distinct_n

    df = pl.DataFrame({"trace_id": ["a", "b"], "teacher": ["t", "t"], "completion": ["x y x y", "p q r"]})
    d = distinct_n(df).to_dicts()[0]
    # trace a: 1-grams 2/4, 2-grams {xy, yx} 2/3, 3-grams {xyx, yxy} 2/2; trace b: all unique
    assert d["distinct_1"] == pytest.approx((0.5 + 1) / 2)
    assert d["distinct_2"] == pytest.approx((2 / 3 + 1) / 2)
    assert d["distinct_3"] == pytest.approx(1.0)


def test_embedding_spread_real_model():
    from curation.audit.diversity import embedding_spread

    df = pl.DataFrame({
        "teacher": ["same"] * 2 + ["diff"] * 2 + ["one"],
        "query_id": ["q"] * 5, "sample_index": [0, 1, 0, 1, 0],
        "completion": ["The answer is 42 because 6 times 7 is 42."] * 2
        + ["The answer is 42 because 6 times 7 is 42.", "Photosynthesis converts light into chemical energy."]
        + ["alone"],
    })
    out = embedding_spread(df)
    assert out["computed"]
    rows = {r["teacher"]: r["spread"] for r in out["by_teacher"].to_dicts()}
    assert set(rows) == {"same", "diff"}  # one sample per query: not defined
    assert rows["same"] == pytest.approx(0.0, abs=1e-5)
    assert rows["diff"] > 0.3


def test_wilson_scalar_edges():
    from curation.audit.metrics import wilson_scalar

    lo, hi = wilson_scalar(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    assert all(math.isnan(x) for x in wilson_scalar(0, 0))


def test_audit_cli(tmp_path):
    from typer.testing import CliRunner

    from curation.cli import app
    from curation.errors import UserError

    store = rundir_factory.build_run(tmp_path / "run")
    r = CliRunner().invoke(app, ["audit", str(store.root), "--no-embeddings", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (store.root / "report" / "audit" / "report.html").exists()
    assert json.loads((store.root / "report" / "audit" / "audit.json").read_text())["summary"]["traces"] == 70
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "nope")])
    assert isinstance(r.exception, UserError) and "not a directory" in str(r.exception)
    r = CliRunner().invoke(app, ["audit", str(store.root), "--ppl-model", str(tmp_path / "missing")])
    assert isinstance(r.exception, UserError) and "never downloads" in str(r.exception)


def test_structure_table_shows_each_teachers_numbers(full):
    from rich.console import Console

    from curation.commands.audit import structure_table

    _, _, result = full
    rows = result["structure"]["summary"]
    con = Console(record=True, width=140)
    con.print(structure_table(rows))
    lines = {ln.split()[0]: ln.split()[1:] for ln in con.export_text().splitlines() if ln.strip()}
    for r in rows:
        cells = lines[r["teacher"]]
        assert cells[0] == str(r["segmented_traces"]) and cells[1] == f"{r['approaches_mean']:.2f}"
        assert cells[-1] == f"{100 * r['token_reduction']:.1f}%"
