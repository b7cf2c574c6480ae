"""Text answers compare without markup, but a function name is content: `\\cot x` is not `\\sin x`."""

from __future__ import annotations

import pytest

from verifiers.math import verify


@pytest.mark.parametrize(
    "gold,prediction,expected",
    [
        (r"\sin x", r"\boxed{\cot x}", False),
        (r"\tan x", r"The answer is $\cot x$.", False),
        (r"\log n", r"\boxed{\ln n}", False),
        (r"\sin x", r"\boxed{\sin x}", True),
        (r"\text{Monday}", r"\boxed{\textbf{Monday}}", True),
        (r"\text{east}", r"The answer is \textbf{East}.", True),
        (r"\infty", r"\boxed{\infty}", True),
    ],
)
def test_text_match_keeps_command_names_but_not_formatting(gold, prediction, expected):
    assert verify(gold, prediction).equivalent is expected
