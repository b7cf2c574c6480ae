"""A 1-seed, few-step run of the whole lab (data, two pipeline runs, every arm, lab.json, report) completes."""

from __future__ import annotations

import json

import pytest

from training.lab.run import ARMS, RECIPES, run_lab


@pytest.mark.slow
def test_smoke_lab_runs_every_arm(tmp_path):
    lab = run_lab(tmp_path, RECIPES["smoke"], log=lambda *_: None)
    saved = json.loads((tmp_path / "lab.json").read_text())
    assert saved["seeds"] == [0] and set(saved["arms"]) == set(ARMS)
    for arm in ("A0", "A1", "A2", "A3", "A4", "A5"):
        e = lab["arms"][arm]
        assert e["seeds"] == [0]
        assert 0.0 <= e["accuracy"]["mean"] <= 1.0 and e["mean_tokens"]["mean"] > 0
    # A5's pool kept the leaked test problems; the others' did not
    assert lab["arms"]["A5"]["data"]["rows"] > lab["arms"]["A1"]["data"]["rows"]
    assert lab["arms"]["A5"]["leaked_vs_clean"]["n_leaked"] > 0
    # A4's rows are the same traces with simplified (never longer) reasoning
    assert lab["arms"]["A4"]["data"]["rows"] == lab["arms"]["A1"]["data"]["rows"]
    assert lab["arms"]["A4"]["data"]["mean_row_tokens"] < lab["arms"]["A1"]["data"]["mean_row_tokens"]
    assert lab["arms"]["A2"]["data"]["pairs_used"] > 0
    curves = lab["arms"]["A2"]["per_seed"][0]["curves"]
    assert len(curves["logps_chosen"]) == len(curves["step"]) > 0
    # pass@k: k samples per problem for the arms the recipe names, pass@k never below the sampled pass@1
    r = RECIPES["smoke"]
    for arm in r.passk_arms:
        sm = lab["arms"][arm]["sampled"]
        assert sm["k"] == r.passk and sm[f"pass@{r.passk}"]["mean"] >= sm["pass@1"]["mean"]
    # the evaluation subset (eval_limit cuts the split) still holds leaked problems, and A1 and A5 are paired
    assert saved["eval"]["problems"] == r.eval_limit and saved["eval"]["leaked"] > 0
    # the constant-answer floor: at least one problem has the modal answer
    assert 1 / r.eval_limit <= saved["eval"]["modal_answer_accuracy"] <= 1.0
    for arm in ("A0", "A1", "A4"):
        assert all(0 <= s["distinct_answers"] <= r.eval_limit for s in lab["arms"][arm]["per_seed"].values())
    assert lab["comparisons"]["leak inflation (A5 - A1)"]["n"] == 1
    assert lab["comparisons"]["REDI vs control (A2 - A3)"]["n"] == 1
    a6 = lab["arms"]["A6"]
    teachers = {t.name for t in r.lab.teachers}
    assert set(a6["audit_score"]) == set(a6["student_accuracy"]) == teachers
    # the audit score is minus the audit's rank: the best-ranked teacher has the highest score
    best = max(a6["audit_score"].values())
    assert {t for t, v in a6["audit_score"].items() if v == best} == {
        t for t, row in a6["audit"].items() if row["rank_label"].lstrip("=") == "1"
    }
    assert set(a6["per_seed"][0]) == teachers
    html = (tmp_path / "report.html").read_text()
    for section in ("Reading", "Paired differences", "A5: decontamination off", "A6: audit ranking vs students"):
        assert section in html
    assert html.count("data:image/png") >= 4  # accuracy, tokens, REDI curves, audit, leak
