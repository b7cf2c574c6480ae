"""GRPO rewards route each row to the real checker: math through verifiers.math, code through the sandbox."""

from __future__ import annotations

import asyncio
import json

from training.rewards import accuracy_reward, format_reward, length_reward


def test_accuracy_routes_math_and_code_rows_and_skips_unusable_golds():
    tests = json.dumps({"kind": "assert", "asserts": ["assert sq(3) == 9", "assert sq(-2) == 4"]})
    completions = [
        [{"role": "assistant", "content": "<think>2+2</think> The answer is \\boxed{4}."}],
        [{"role": "assistant", "content": "The answer is \\boxed{5}."}],
        [{"role": "assistant", "content": "```python\ndef sq(x):\n    return x * x\n```"}],
        [{"role": "assistant", "content": "```python\ndef sq(x):\n    return x + x\n```"}],
        [{"role": "assistant", "content": "\\boxed{7}"}],
    ]
    rewards = asyncio.run(
        accuracy_reward(workers=1)(
            prompts=[[{"role": "user", "content": "q"}]] * 5,
            completions=completions,
            solution=["4", "4", tests, tests, "\\frac{"],
            tests=[None, None, tests, tests, None],
        )
    )
    assert rewards[:4] == [1.0, 0.0, 1.0, 0.0]
    assert rewards[4] is None  # a gold that cannot be parsed: TRL skips the row


def test_code_partial_credit_is_the_fraction_of_tests_passed():
    tests = json.dumps({"kind": "assert", "asserts": ["assert f(0) == 0", "assert f(2) == 4"]})
    comp = [[{"role": "assistant", "content": "```python\ndef f(x):\n    return 2 * x\n```"}]]
    assert asyncio.run(accuracy_reward(workers=1, partial=True)(prompts=[None], completions=comp, tests=[tests])) == [
        1.0
    ]
    comp = [[{"role": "assistant", "content": "```python\ndef f(x):\n    return x\n```"}]]
    assert asyncio.run(accuracy_reward(workers=1, partial=True)(prompts=[None], completions=comp, tests=[tests])) == [
        0.5
    ]


def test_format_and_length_rewards():
    assert format_reward(
        None, ["<think>work</think> so \\boxed{3}", "<think>never closed \\boxed{3}", "plain answer"]
    ) == [1.0, 0.5, 0.5]
    assert length_reward(10)(None, ["short", "x" * 15, "x" * 40]) == [0.0, -0.5, -1.0]
