"""verifiers.judge: reading JSON out of judge replies, the retry loop, the answer verdict."""

from __future__ import annotations

import pytest

from verifiers.judge import RETRY_NOTE, ReplyError, ask_json, clip_answer, json_object, judge_answers, parse_verdict


@pytest.mark.parametrize(
    "reply",
    [
        '{"verdict": "correct", "reason": "same"}',
        'Sure.\n```json\n{"verdict": "correct", "reason": "same"}\n```\nHope that helps.',
        'I compared them: {"verdict": "Correct.", "reason": "same"} (final)',
        '<think>maybe {"verdict": "incorrect"}? no.</think>\n{"verdict": "correct", "reason": "same"}',
        'With \\frac{1}{2} = {0.5}: {"verdict": "correct", "reason": "same", "extra": {"verdict": "incorrect"}}',
    ],
)
def test_verdict_is_found_in_prose_fences_and_after_thinking(reply):
    assert parse_verdict(reply) == ("correct", "same")


@pytest.mark.parametrize(
    "reply, why",
    [
        ("", "empty"),
        ("<think>long thoughts</think>   ", "empty"),
        ("The answer is correct.", "no JSON object"),
        ('{"reason": "forgot the verdict"}', 'no "verdict" key'),
        ('{"verdict": "partially correct"}', "must be"),
        ('{"verdict": true}', "must be"),
        ('{"verdict": "correct", ', "no JSON object"),
    ],
)
def test_unusable_replies_say_why(reply, why):
    with pytest.raises(ReplyError, match=why):
        parse_verdict(reply)


def test_json_object_takes_the_last_object_with_the_key():
    assert json_object('{"error": false} then {"error": true, "quote": "x"}', "error") == {"error": True, "quote": "x"}


def test_ask_json_retries_with_the_reason_and_keeps_the_last_reply():
    calls: list[list[str]] = []
    script = {"a": ["nonsense", '{"v": 1}'], "b": ['{"v": 2}'], "c": ["x", "y", "z"], "d": [None, '{"v": 4}']}

    def generate(prompts):
        calls.append(prompts)
        return [script[p[0]].pop(0) for p in prompts]

    def parse(i, reply):
        return json_object(reply, "v")["v"]

    out = ask_json(["a", "b", "c", "d", "b"], generate, parse, retries=2)
    assert [o.value for o in out] == [1, 2, None, 4, 2]
    assert [o.attempts for o in out] == [2, 1, 3, 2, 1]
    assert [o.ok for o in out] == [True, True, False, True, True]
    assert out[2].reply == "z" and len(out[2].errors) == 3 and not out[2].request_failed
    assert out[3].errors == ["the request failed (no reply)"]
    assert calls[0] == ["a", "b", "c", "d"]  # the duplicate "b" is asked once
    # a rejected reply is asked again with the reason; a request that got no reply is asked as it was
    assert calls[1] == [
        "a" + RETRY_NOTE.format(why="there is no JSON object in the reply"),
        "c" + RETRY_NOTE.format(why="there is no JSON object in the reply"),
        "d",
    ]
    assert len(calls) == 3 and len(calls[2]) == 1


def test_request_that_never_gets_a_reply_is_flagged():
    out = ask_json(["p"], lambda prompts: [None] * len(prompts), lambda i, r: r, retries=1)
    assert out[0].request_failed and not out[0].ok and out[0].attempts == 2


def test_judge_answers_prompt_carries_question_reference_and_the_end_of_a_long_answer():
    seen: list[str] = []

    def generate(prompts):
        seen.extend(prompts)
        return ['{"verdict": "incorrect", "reason": "differs"}'] * len(prompts)

    long = "filler " * 1000 + "so the answer is Lyon"
    out = judge_answers([("Capital of France?", "Paris", long)], generate, retries=0, max_answer_chars=100)
    assert out[0].value == ("incorrect", "differs")
    assert "Capital of France?" in seen[0] and "Paris" in seen[0] and "so the answer is Lyon" in seen[0]
    assert "filler " * 30 not in seen[0]
    assert clip_answer(long, 100) == ("[...] " + long[-100:], True) and clip_answer(" ok ", 100) == ("ok", False)
