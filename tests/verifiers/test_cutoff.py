"""verifiers.cutoff: a trace cut off by a token cap is recognised from its text when no finish reason is known.

Tails are real (SkyThought / Qwen2.5 / gemma outputs, Apache-2.0, abridged to their last lines) or written for one
rule each; the complete ones include the endings that look unusual but are finished (a unit after the box)."""

import pytest

from verifiers.cutoff import cut_off

CUT = [
    (
        "mid-formula",
        "This means \\( n \\) ranges up to \\( \\lfloor \\sqrt{120} \\rfloor \\). Approximating \\( \\sqrt{120",
    ),
    ("mid-sentence, comma", "Maybe I should consider numerical methods.\n\nAlternatively,"),
    ("mid-sentence, function word", "Alternatively, perhaps r_in is related to"),
    ("mid-sentence, noun", "Therefore, S is the region in the unit square"),
    ("mid-formula, operator", "Total: \\(4.515 +"),
    ("open display", "Therefore:\n\n\\[a * b = \\frac{\\ln 7"),
    (
        "heading with nothing under it",
        "1. **Coordinates Setup**:\n   - Place A at (0, 11).\n\n2. **Angle Relationships**",
    ),
    ("bare final-answer heading", "So the answer is 5.\n\n**Final Answer**"),
    ("thinking never closed", "<think>\nLet me compute. 2 + 3 = 5. So the answer is 5."),
    ("SkyThought thought never closed", "<|begin_of_thought|>\n\nSo the answer is 11.\n\nTherefore, the answer is 11."),
    ("repetition cut mid-token", "=\\log_x\\left(y^x\\right)=\\log_x\\left(y^x\\right)=\\log_x"),
    (
        "a 113-character opening",
        "<|begin_of_thought|>\n\nSo I have this problem: given that \\( f(x) = 2^x \\), I need to find "
        "\\( \\sqrt{f(f(f(f(1)))))",
    ),
]
COMPLETE = [
    ("boxed", "So the area is:\n\n\\[ \\boxed{32} \\]"),
    ("sentence", "Therefore, the number of positive divisors of 196 is 9."),
    ("unit after the box", "**Answer:**  \\boxed{3√13} units"),
    ("unit after an inline box", "$HC + HD - HP = 150 + 130 - 75 = \\boxed{105}$ m"),
    ("answer line", "The total is 18 dollars.\n#### 18"),
    (
        "closing markers",
        "<|begin_of_thought|>\n\nx = 2.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n"
        "Thus \\( \\boxed{2} \\).\n\n<|end_of_solution|>",
    ),
    ("closing marker cut mid-token", "Thus, the area of the triangle is \\(\\boxed{32}\\).<|end_of_"),
    ("think closed", "<think>\n2 + 3 = 5\n</think>\n\nThe answer is \\boxed{5}."),
    ("stray \\( earlier in the paragraph", "Thus, the units digit of \\(4\\$ is \\(\\boxed{6}\\)."),
    ("escaped dollars", "Therefore, the units digit of $4\\$$ is $\\boxed{6}$."),
    (
        "long bold note",
        "**There might be an error in the given side lengths. Please double-check the values provided.**",
    ),
    ("bold final answer", "**Final Answer: 5**"),
]


@pytest.mark.parametrize("why,text", CUT, ids=[c[0] for c in CUT])
def test_cut_off_traces_are_recognised(why, text):
    assert cut_off(text) is not None, why


@pytest.mark.parametrize("why,text", COMPLETE, ids=[c[0] for c in COMPLETE])
def test_complete_traces_are_not(why, text):
    assert cut_off(text) is None, (why, cut_off(text))


def test_empty_output_is_not_called_cut_off():
    assert cut_off("") is None and cut_off(None) is None and cut_off("   \n") is None
