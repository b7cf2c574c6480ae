"""DLCoT simplification rules, deletion exactness, clustering, chunk importance, filters."""

from __future__ import annotations

import numpy as np
import pytest

from curation.cot import filters as F
from curation.cot.chunk import chunk_spans, importance
from curation.cot.cluster import leader_clusters, parse_llm_clusters
from curation.cot.segment import Segment
from curation.cot.simplify import Item, apply_deletions, plan


def _items(spec):
    """spec: (kind, verdict, cluster) in order; each item one 10-char span."""
    return [
        Item(i, k, i + 1 if k == "approach" else None, [(10 * i, 10 * i + 10)], v, c)
        for i, (k, v, c) in enumerate(spec)
    ]


def test_full_keeps_trunk_and_one_per_cluster_after_it():
    items = _items(
        [
            ("approach", "incorrect", 0),  # trunk, wrong first try: kept
            ("approach", "correct", 1),  # first correct: end of trunk
            ("verification", None, 2),  # first check after trunk: leader, kept
            ("verification", None, 2),  # same check again: redundant
            ("approach", "correct", 1),  # same method as the trunk's correct approach: redundant
            ("approach", "incorrect", 5),  # wrong, off trunk: dropped
            ("approach", "correct", 6),  # a different correct method: kept (diversity)
        ]
    )
    p = plan(items, "full")
    rules = {d["item"]: d["rule"] for d in p.deletions}
    assert rules == {3: "redundant_after_trunk", 4: "redundant_trunk_cluster", 5: "wrong_off_trunk"}
    assert p.trunk_end == 20


def test_checks_of_a_deleted_approach_go_with_it():
    """The demo's Sky-T1 trace: approach 2 (derivative) deleted as wrong, its second-derivative check kept → the
    simplified text said "f''(x) = -8" with no f'(x) anywhere. A check never outlives its approach."""
    items = [
        Item(0, "approach", 1, [(0, 10)], "correct", 0),
        Item(1, "verification", 1, [(10, 20)], None, 1),
        Item(2, "approach", 2, [(20, 30)], "incorrect", 2),
        Item(3, "verification", 2, [(30, 40)], None, 3),
        Item(4, "verification", 2, [(40, 50)], None, 4),
        Item(5, "verification", None, [(50, 60)], None, 5),
    ]
    for strategy in ("full", "keep_last_k"):
        rules = {d["item"]: d["rule"] for d in plan(items, strategy, k=3).deletions}
        assert rules == {2: "wrong_off_trunk", 3: "check_of_deleted", 4: "check_of_deleted"}, strategy
    dup = [
        Item(0, "approach", 1, [(0, 10)], "correct", 0),
        Item(1, "approach", 2, [(10, 20)], "correct", 0),
        Item(2, "verification", 2, [(20, 30)], None, 2),
    ]
    assert {d["item"]: d["rule"] for d in plan(dup, "redundancy_only").deletions} == {
        1: "redundant",
        2: "check_of_deleted",
    }


def test_full_needs_a_correct_approach_and_redundancy_only_does_not():
    items = _items([("approach", "incorrect", 0), ("approach", "incorrect", 0)])
    assert plan(items, "full").skipped == "no_correct_approach"
    assert [d["item"] for d in plan(items, "redundancy_only").deletions] == [1]


def test_keep_last_k_and_strength():
    items = _items([("approach", "correct", 0)] + [("verification", None, i) for i in range(1, 5)])
    kept_after = lambda p: {1, 2, 3, 4} - {d["item"] for d in p.deletions}  # noqa: E731
    assert kept_after(plan(items, "keep_last_k", k=1)) == {4}
    assert kept_after(plan(items, "keep_last_k", k=2)) == {3, 4}
    dup = _items([("approach", "correct", 0)] + [("verification", None, 1)] * 5)
    assert len(plan(dup, "full", strength=1.0).deletions) == 4
    half = plan(dup, "full", strength=0.5).deletions  # the latest 2 of 4 duplicates go
    assert [d["item"] for d in half] == [4, 5]


def test_error_spans_cut_only_the_quote():
    items = _items([("approach", "correct", 0)])
    items[0].error_spans = [(3, 6)]
    p = plan(items, "full")
    assert apply_deletions("0123456789", p.deletions) == "0126789"


def test_error_quotes_map_to_offsets_only_inside_their_own_approach():
    from curation.cot.error_judge import find_quote, parse_reply
    from verifiers.judge import ReplyError

    text = (
        "Approach one: 12 * 3 = 38, so x = 38.\n\nVerify: fine.\n\nAlternatively 12 * 3 =\n36 and x = 36. Then x = 36."
    )
    one = [(0, 37)]
    two = [(text.index("Alternatively"), len(text))]
    a, b = find_quote(text, one, "12 * 3   = 38,")  # whitespace may differ, nothing else
    assert text[a:b] == "12 * 3 = 38,"
    a, b = find_quote(text, two, "12 * 3 = 36")  # the original has a line break: offsets cover it exactly
    assert text[a:b] == "12 * 3 =\n36"
    with pytest.raises(ReplyError, match="does not occur"):
        find_quote(text, two, "12 * 3 = 38")  # text of another approach
    with pytest.raises(ReplyError, match="does not occur"):
        find_quote(text, one, "12 * 3 = 39")
    with pytest.raises(ReplyError, match="occurs 2 times"):
        find_quote(text, two, "x = 36")
    split = [(0, 20), (25, 37)]  # an approach in two pieces: a quote may not bridge the gap
    with pytest.raises(ReplyError, match="does not occur"):
        find_quote(text, split, "= 38, so x = 38")
    assert find_quote(text, [(0, 20), (20, 37)], "= 38, so x = 38") == (21, 36)  # adjacent pieces join
    lab = parse_reply('Found it: ```json\n{"error": true, "quote": "12 * 3 = 38", "reason": "36"}\n```', text, one)
    assert lab.error and text[lab.span[0] : lab.span[1]] == lab.quote == "12 * 3 = 38" and lab.reason == "36"
    assert parse_reply('{"error": "false", "quote": null}', text, one).span is None
    for bad, why in (
        ('{"error": true}', "quote"),
        ('{"error": "maybe"}', "true or false"),
        ('{"error": true, "quote": "Approach one: 12 * 3 = 38, so x = 38."}', "whole attempt"),
    ):
        with pytest.raises(ReplyError, match=why):
            parse_reply(bad, text, one)


def test_deletion_is_exact_and_merges_overlaps():
    text = "aaaa|bbbb|cccc|dddd"
    dels = [{"start": 5, "end": 10}, {"start": 8, "end": 15}]
    assert apply_deletions(text, dels) == "aaaa|dddd"


def test_leader_clustering_and_llm_partition_parsing():
    e = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99]], dtype=float)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert leader_clusters(e, 0.9) == [0, 0, 2, 2]
    assert parse_llm_clusters("group1 [Item 1, Item 3] algebra\ngroup2 [Item 2] geometry", 3) == [0, 1, 0]
    assert parse_llm_clusters("group1 [Item 1, Item 2]", 3) is None  # item 3 missing
    assert parse_llm_clusters("group1 [Item 1, Item 2]\ngroup2 [Item 2, Item 3]", 3) is None  # item in two groups


def test_embedding_clusters_real_model():
    pytest.importorskip("sentence_transformers")
    from curation.cot.cluster import embedding_clusters

    ids = embedding_clusters(
        [
            "Using the distance formula sqrt((x2-x1)^2 + (y2-y1)^2) we get sqrt(117).",
            "Using the distance formula sqrt((x2-x1)^2 + (y2-y1)^2), we find sqrt(117).",
            "Plot the triangle on graph paper and use the Pythagorean theorem with legs 6 and 9.",
        ],
        threshold=0.9,
    )
    assert ids[0] == ids[1] == 0 and ids[2] == 2


def test_chunk_spans_and_mc_importance_with_scripted_rollouts():
    segs = [
        Segment("question_repeat", 0, 10),
        Segment("approach", 10, 50, 1),
        Segment("verification", 50, 60, 1),
        Segment("conclusion", 60, 64),
    ]
    spans = chunk_spans(segs, max_chunks=3)
    assert spans[0][0] == 0 and spans[-1][1] == 64 and len(spans) == 3
    text = "x" * 64
    # rollouts from the empty prefix fail, every later prefix succeeds: all credit goes to chunk 1
    gen = lambda prompts: [
        "FAIL" if p.endswith("Reasoning so far:\n") else "OK"  # noqa: E731
        for p in prompts
    ]
    res = importance("p", text, spans, gen, lambda outs: [o.endswith("OK") for o in outs], k=2)
    assert res["acc_prefix0"] == 0.0 and [c["e"] for c in res["chunks"]] == [1.0, 0.0, 0.0]
    assert res["chunks"][0]["s"] > 0 and res["formula"].startswith("cotforge-v1")


def test_filters():
    loop = "I will check again. " * 60
    assert F.ngram_loop(loop, n=8, max_repeats=10)["count"] >= 10
    assert F.ngram_loop("a normal reasoning text " * 3, n=8, max_repeats=10) is None
    mixed = "The answer is 5 because we add them. " * 3 + "所以答案是五因为我们把它们加起来了" * 3
    assert F.language_mixing(mixed, 0.05)["main_script"] == "latin"
    assert F.language_mixing("Let θ = π/2 and α = 3; then sin θ = 1 so the answer is 3. " * 3, 0.05) is None
    assert F.missing_think_tags("no tags here", ["<think>"], ["</think>"]) is not None
    assert F.missing_think_tags("<think>hm</think>The answer is 3.", ["<think>"], ["</think>"]) is None
    assert F.length(5000, 4096, None) == {"tokens": 5000, "max_tokens": 4096}
