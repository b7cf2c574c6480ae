"""One code extractor (`sandboxes.extract`) for the verify stage and the RL reward: on tricky completions both
paths pick the same block, and the reward really runs that block (only the intended block prints 'right')."""

from __future__ import annotations

import asyncio

import pytest

import sandboxes
from curation.stages.verify import _code_of
from curation.teachers.parsing import split_reasoning
from sandboxes.extract import answer_part, extract_code

from .conftest import skip_unless

RIGHT, WRONG = "print('right')\n", "print('wrong')\n"
TESTS = {"kind": "stdio", "cases": [{"input": "", "output": "right\n"}]}


def fence(code: str, tag: str = "python") -> str:
    return f"```{tag}\n{code}```"


TRICKY = {
    "several blocks, the last is the answer": f"First try:\n{fence(WRONG)}\nFixed:\n{fence(RIGHT)}\n",
    "other languages are never run": f"{fence(RIGHT)}\nOutput:\n{fence('right', 'text')}\n{fence('ls', 'bash')}",
    "aliases py / python3": f"{fence(WRONG, 'py')}\n{fence(RIGHT, 'python3')}",
    "untagged when nothing is tagged": f"{fence(WRONG, '')}\nthen\n{fence(RIGHT, '')}",
    "tagged python beats a later untagged block": f"{fence(RIGHT)}\n{fence(WRONG, '')}",
    "a block while thinking, the answer after": f"<think>draft\n{fence(WRONG)}\n</think>\nAnswer:\n{fence(RIGHT)}",
    "code only while thinking": f"<think>\n{fence(RIGHT)}\n</think>\nSee above.",
    "template opened <think> in the prompt": f"draft {fence(WRONG)}</think>\nFinal:\n{fence(RIGHT)}",
    "thinking never closed": f"<think>long draft\n{fence(WRONG)}\nbetter\n{fence(RIGHT)}",
    "a C++ block is not Python": f"{fence(RIGHT, '')}\n{fence('int main(){}', 'cpp')}",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_verify_stage_and_reward_pick_the_same_block(name):
    text = TRICKY[name]
    p = split_reasoning(text)  # how distill stores the completion
    row = {"completion": text, "reasoning": p.reasoning, "answer": p.answer}
    assert _code_of(row, "python") == extract_code(text) == RIGHT


@skip_unless("bwrap")
def test_the_reward_runs_that_block():
    comps = [TRICKY[k] for k in sorted(TRICKY)]
    comps.append(
        [{"role": "user", "content": fence(WRONG)}, {"role": "assistant", "content": TRICKY["aliases py / python3"]}]
    )
    assert sandboxes.reward(comps, [TESTS] * len(comps)) == [1.0] * len(comps)
    assert asyncio.run(sandboxes.areward(comps, [TESTS] * len(comps))) == [1.0] * len(comps)


def test_no_block_and_the_answer_part():
    assert extract_code("no code at all") is None
    assert extract_code(f"```python\n{RIGHT}") is None  # an unterminated block is not code
    assert extract_code(fence("echo hi", "bash")) is None
    assert answer_part("<think>a</think>b") == "b" and answer_part("<think>a") == "" and answer_part("b") == "b"
    with pytest.raises(TypeError, match="completion"):
        extract_code(42)
