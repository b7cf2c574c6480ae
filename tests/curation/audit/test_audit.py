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

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).parents[1] / "rundir_factory.py")
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
            "truncated" if truncated else ("correct" if r["is_correct_math_verify"] else "incorrect")
        )
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
    assert nine[0]["ci_low"] == pytest.approx(0.3881, abs=1e-3) and nine[0]["ci_high"] == pytest.approx(
        0.8366, abs=1e-3
    )
    # 14/14: upper bound is exactly 1, lower bound n/(n+z²)
    full_rows = [r for r in rows.values() if r["correct_n"] == 14]
    assert full_rows[0]["ci_high"] == pytest.approx(1.0)
    assert full_rows[0]["ci_low"] == pytest.approx(14 / (14 + 1.959964**2), abs=1e-4)


def test_difficulty_buckets_partition_the_samples(full):
    _, _, result = full
    by = result["pass_rate"]["by_difficulty"]
    per_teacher = defaultdict(int)
    for r in by:
        per_teacher[r["teacher"]] += r["n"]
    assert all(v == 14 for v in per_teacher.values())
    # buckets grade a query by the OTHER teachers' verdicts, so "solved by all others" is not 100% by construction
    verdict = _verdicts()
    teachers = {t for _, t in verdict}
    for t in teachers:
        want = defaultdict(lambda: [0, 0])
        for (p, tt), v in verdict.items():
            if tt != t:
                continue
            others = [verdict[(p, o)] == "correct" for o in teachers if o != t]
            d = 1 - sum(others) / len(others)
            b = 0 if d <= 0 else 1 if d <= 0.5 else 2 if d < 1 else 3
            want[b][0] += 1
            want[b][1] += v == "correct"
        from curation.audit.metrics import DIFFICULTY_BUCKETS

        got = {
            DIFFICULTY_BUCKETS.index(r["difficulty_bucket"]): [r["n"], r["correct_n"]] for r in by if r["teacher"] == t
        }
        assert got == dict(want)
    easiest = [r for r in by if r["difficulty_bucket"].startswith("solved by all")]
    assert easiest and any(r["pass_rate"] < 1 for r in easiest)


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
    answer = {
        (r["problem"], rundir_factory.short_name(r["teacher"])): re.sub(r"\s|\$", "", r["pred_answer_source"] or "")
        .lower()
        .strip(".")
        or None
        for r in rundir_factory.load_rows()
    }
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


def test_ranking_orders_by_pass_rate_and_ties_overlapping_intervals(full):
    _, _, result = full
    table = result["ranking"]["table"]
    rates = [r["pass_rate"] for r in table]
    assert rates == sorted(rates, reverse=True) and result["ranking"]["order"] == "pass_rate"
    assert result["ranking"]["composite"] is None and all("composite" not in r for r in table)
    for r in table:  # rank = 1 + teachers whose interval lies wholly above; "=" where another overlaps
        above = [o for o in table if o["ci_low"] > r["ci_high"]]
        overlap = [o for o in table if o is not r and o["ci_low"] <= r["ci_high"] and r["ci_low"] <= o["ci_high"]]
        assert r["rank"] == 1 + len(above) and r["tied"] == bool(overlap)
        assert r["rank_label"] == ("=" if overlap else "") + str(r["rank"])
    assert table[0]["rank"] == 1 and table[0]["pass_rate"] == max(rates)
    keys = {c["key"] for c in result["ranking"]["criteria"]}
    assert {"pass_rate", "truncation_rate", "tokens_correct", "distinct_2"} <= keys
    assert "ppl_mean" in result["ranking"]["not_used"]


def test_composite_is_opt_in_and_stable_when_a_teacher_leaves():
    from curation.audit.ranking import parse_weights, rank
    from curation.errors import UserError

    t = pl.DataFrame(
        {
            "teacher": ["a", "b", "c", "d"],
            "pass_rate": [1.0, 0.875, 0.9, 0.2],
            "n": [40, 40, 40, 6],
            "ci_low": [0.91, 0.74, 0.77, 0.04],
            "ci_high": [1.0, 0.95, 0.96, 0.64],
            "tokens_correct": [300.0, 150.0, 9000.0, 50.0],
            "distinct_2": [0.3, 0.6, 0.5, 0.9],
        }
    )
    w = parse_weights(["pass_rate=0.5", "tokens_correct=0.25", "distinct_2=0.25"])
    full = {r["teacher"]: r for r in rank(t, w)["table"].to_dicts()}
    part = {r["teacher"]: r for r in rank(t.filter(pl.col("teacher") != "d"), w)["table"].to_dicts()}
    for k in "abc":  # scores come from the teacher's own values: removing d changes nobody's score or order
        assert part[k]["composite"] == pytest.approx(full[k]["composite"])
    assert full["a"]["composite"] == pytest.approx(0.5 * 1.0 + 0.25 / (1 + 300 / 4096) + 0.25 * 0.3)
    by_comp = sorted("abc", key=lambda k: -full[k]["composite"])
    assert by_comp == sorted("abc", key=lambda k: -part[k]["composite"])
    assert [r["teacher"] for r in rank(t, w)["table"].to_dicts()][:3] == ["a", "c", "b"]  # still by pass rate
    for bad in (["pass_rate"], ["speed=1"], ["pass_rate=x"], ["pass_rate=0"], ["pass_rate=-1"]):
        with pytest.raises(UserError):
            parse_weights(bad)
    with pytest.raises(UserError, match="ppl_mean"):
        rank(t, {"ppl_mean": 1.0})


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

    df = pl.DataFrame(
        {
            "teacher": ["same"] * 2 + ["diff"] * 2 + ["one"],
            "query_id": ["q"] * 5,
            "sample_index": [0, 1, 0, 1, 0],
            "completion": ["The answer is 42 because 6 times 7 is 42."] * 2
            + ["The answer is 42 because 6 times 7 is 42.", "Photosynthesis converts light into chemical energy."]
            + ["alone"],
        }
    )
    out = embedding_spread(df)
    assert out["computed"]
    rows = {r["teacher"]: r["spread"] for r in out["by_teacher"].to_dicts()}
    assert set(rows) == {"same", "diff"}  # one sample per query: not defined
    assert rows["same"] == pytest.approx(0.0, abs=1e-5)
    assert rows["diff"] > 0.3


def test_wilson_scalar_edges():
    from curation.intervals import wilson_scalar

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


def test_kappa_undefined_when_a_teacher_never_varies():
    from curation.audit.metrics import agreement

    ok = [True, False, True, False]
    df = pl.DataFrame(
        {
            "teacher": ["all"] * 4 + ["mixed"] * 4 + ["other"] * 4,
            "query_id": list("abcd") * 3,
            "sample_index": [0] * 12,
            "correct": [True] * 4 + ok + [True, False, False, False],
            "extracted_answer": ["1"] * 12,
        }
    )
    df = df.with_columns(
        pl.when(pl.col("correct")).then(pl.lit("correct")).otherwise(pl.lit("incorrect")).alias("verdict")
    )
    pairs = {(r["teacher_a"], r["teacher_b"]): r for r in agreement(df)["pairs"].to_dicts()}
    assert pairs[("all", "mixed")]["cohen_kappa"] is None  # was 0.000: κ is 0 whatever "mixed" does
    # mixed vs other: agreement 3/4, pe = .5*.25 + .5*.75 = .5 → κ = .5
    assert pairs[("mixed", "other")]["cohen_kappa"] == pytest.approx(0.5)


def test_reasoning_length_is_missing_not_zero_without_separate_reasoning(tmp_path):
    from curation.audit.metrics import base_frame, lengths
    from curation.rundata import RunTables

    t = pl.DataFrame(
        {
            "trace_id": ["1", "2", "3"],
            "query_id": ["q", "q", "q"],
            "teacher": ["short", "short", "long"],
            "verdict": ["correct"] * 3,
            "reasoning": [None, None, "thinking…"],
            "answer": ["\\boxed{1}"] * 3,
            "completion": ["x"] * 3,
        }
    )
    df = base_frame(RunTables(root=tmp_path, lock={}, frames={"traces": t, "queries": None}))
    dist = {r["teacher"]: r for r in lengths(df)["distribution"].to_dicts()}
    assert dist["short"]["reasoning_chars_p50"] is None and dist["long"]["reasoning_chars_p50"] == 9
