"""The lab's bookkeeping: the evaluation subset keeps leaked problems, the exact Spearman p-value, paired
comparisons, and the report's words for an interval."""

from __future__ import annotations

import math
from itertools import permutations

import pytest

from training.lab.report import _ranks, verdict
from training.lab.run import comparisons, eval_items, exact_spearman_p
from training.quantify.benchmarks import Item


def _items(n: int) -> list[Item]:
    return [Item(id=f"t{i}", problem=f"p{i}", domain="math", answer=str(i)) for i in range(n)]


def test_eval_subset_keeps_its_share_of_leaked_problems():
    items = _items(40)
    leaked = {f"t{i}" for i in range(30, 40)}  # the leaked ones sit at the end: a plain cut would lose them all
    sub = eval_items(items, leaked, 12)
    assert len(sub) == 12
    n_leaked = sum(it.id in leaked for it in sub)
    assert n_leaked >= math.ceil(12 * 10 / 40) and n_leaked >= 12 // 4
    assert [it.id for it in sub] == [it.id for it in items if it in sub]  # split order kept
    assert eval_items(items, leaked, None) == items and eval_items(items, leaked, 100) == items


def test_eval_subset_with_fewer_leaked_than_wanted():
    sub = eval_items(_items(40), {"t39"}, 12)
    assert len(sub) == 12 and sum(it.id == "t39" for it in sub) == 1


def test_exact_spearman_p_matches_enumeration():
    from scipy import stats

    x = [5.0, 4.0, 3.0, 2.0, 1.0]
    # a perfect ranking: 2 of the 120 orderings reach |rho| = 1
    assert exact_spearman_p(x, [0.9, 0.8, 0.7, 0.6, 0.5]) == pytest.approx(2 / 120)
    y = [0.3, 0.9, 0.1, 0.5, 0.4]
    rho = abs(stats.spearmanr(x, y).statistic)
    expected = sum(abs(stats.spearmanr(x, p).statistic) >= rho - 1e-12 for p in permutations(y)) / 120
    assert exact_spearman_p(x, y) == pytest.approx(expected) and expected > 0.05


def test_comparisons_are_paired_by_seed():
    def arm(accs, leaked=None):
        e = {"per_seed": {s: {"accuracy": a, "mean_tokens": 10 * a} for s, a in accs.items()}}
        if leaked:
            e["leaked_vs_clean"] = {"per_seed": {s: {"leaked": lk, "clean": cl} for s, (lk, cl) in leaked.items()}}
        return e

    arms = {
        "A0": arm({0: 0.1, 1: 0.3, 2: 0.2}),
        "A1": arm({0: 0.2, 1: 0.4, 2: 0.3}, {0: (0.2, 0.2), 1: (0.4, 0.4)}),
        "A5": arm({0: 0.3, 1: 0.5}, {0: (0.9, 0.2), 1: (0.7, 0.4)}),
    }
    c = comparisons(arms)
    v = c["verification (A1 - A0)"]
    # every seed gains exactly 0.1: a paired difference with zero spread
    assert v["n"] == 3 and v["mean"] == pytest.approx(0.1) and v["ci"][0] == pytest.approx(0.1)
    assert c["REDI vs control (A2 - A3)"] is None
    infl = c["leak inflation (A5 - A1)"]
    assert infl["n"] == 2 and infl["mean"] == pytest.approx((0.7 + 0.3) / 2)
    assert c["leak accuracy (A5 - A1)"]["n"] == 2  # seed 2 has no A5: not paired


def test_verdict_words_follow_the_interval():
    assert verdict({"mean": 0.1, "ci": [0.02, 0.2]}).startswith("positive")
    assert verdict({"mean": -0.1, "ci": [-0.2, -0.01]}).startswith("negative")
    assert verdict({"mean": 0.01, "ci": [-0.05, 0.07]}).startswith("no detectable")
    assert verdict({"mean": 0.01, "ci": None}).startswith("one seed")


def test_ranks_mark_ties():
    assert _ranks([0.5, 0.3, 0.3, 0.1]) == ["1", "=2", "=2", "4"]


def test_a_saved_student_result_is_reused_only_by_the_same_recipe(tmp_path):
    import json
    from dataclasses import replace

    from training.lab.run import RECIPES, Job, recipe_key, run_job

    r = RECIPES["smoke"]
    assert recipe_key(r) == recipe_key(replace(r, seeds=(0, 1, 2), workers=1))  # which students run: same key
    assert recipe_key(r) != recipe_key(replace(r, token_budget=r.token_budget + 1))
    job = Job("A0", 0)
    dest = tmp_path / "students" / job.dest
    dest.mkdir(parents=True)
    saved = {"recipe_key": recipe_key(r), "info": {"rows": 3}, "score": {"accuracy": 0.5, "mean_tokens": 7.0}}
    (dest / "lab_result.json").write_text(json.dumps(saved))
    ctx = {"recipe": r, "out": tmp_path, "exports": {}, "steps": {}, "items": []}
    res = run_job(ctx, job)
    assert res["score"] == saved["score"] and res["info"] == saved["info"]
    # another recipe's result is not reused: the job goes on to train, and finds no data here
    (dest / "lab_result.json").write_text(json.dumps({**saved, "recipe_key": "other"}))
    with pytest.raises(KeyError):
        run_job(ctx, job)


def test_answer_floor_is_the_modal_answer_share():
    from training.lab.run import answer_floor

    assert answer_floor(["1", "2", "1", "3"]) == {"modal_answer": "1", "modal_answer_accuracy": 0.5}
    assert answer_floor([]) == {}


def test_answer_floor_per_kind_is_each_kinds_modal_answer():
    from training.lab.run import answer_floor

    got = answer_floor(["0", "0", "1", "5", "5", "5"], ["mod", "mod", "mod", "arith", "arith", "linear"])
    assert got["modal_answer"] == "5" and got["modal_answer_accuracy"] == 0.5
    assert got["per_kind_modal_answer"] == {"arith": "5", "linear": "5", "mod": "0"}
    assert got["per_kind_modal_accuracy"] == 5 / 6  # mod "0" 2 of 3, arith 2 of 2, linear 1 of 1
    with pytest.raises(ValueError, match="one kind per answer"):
        answer_floor(["1", "2"], ["mod"])
