"""verifiers.math on the error classes found by reading real traces by hand (issue 18): each case is written for
one class; both directions are checked where a class could turn into a false positive (a wrong answer rewarded)."""

import pytest

from verifiers.math import verify

FILLER = "Let me think about this more carefully. " * 60  # makes a response 'long' (> 1000 chars)

# (gold, prediction, expected equivalent)
CLASSES = {
    "minus sign after 'answer is' / 'Final answer:'": [
        ("3", "Therefore the answer is -3.", False),
        ("-3", "Therefore the answer is -3.", True),
        ("3", "Final answer: -3", False),
        ("-3", "Final answer: -3", True),
        ("3", "The answer is: $-3$", False),
        ("5", "Answer - 5", True),  # a dash after 'Answer' is punctuation
    ],
    "minus infinity is not infinity": [
        ("\\infty", "-\\infty", False),
        ("-\\infty", "\\infty", False),
        ("(-\\infty, 3)", "(\\infty, 3)", False),
        ("-\\infty", "$-\\infty$", True),
        ("(-\\infty, 3)", "(-\\infty, 3)", True),
    ],
    "GSM8K marker, \\tfrac, \\bmod, trailing backslash, letters in \\textbf / \\mathrm": [
        ("42", "Janet has 42 eggs.\n#### 42", True),
        ("42", "She sells 9 eggs, so 9*2=18 dollars, total 42\n#### 40", False),
        ("\\frac{8}{3}", "\\boxed{\\tfrac83}", True),
        ("\\frac{8}{3}", "\\tfrac83", True),  # a bare answer, not boxed
        ("3", "\\tfrac83", False),
        ("10", "\\binom{5}{2}", True),
        ("2", "12 \\bmod 5", True),
        ("2", "\\boxed{12 \\bmod 5}", True),
        ("3", "\\boxed{12 \\bmod 5}", False),
        ("5", "\\boxed{5\\}", True),
        ("5", "The answer is $5\\\\$", True),
        ("A", "The answer is \\textbf{A}", True),
        ("E", "\\boxed{\\mathrm{E}}", True),
        ("C", "\\boxed{\\textbf{B}}", False),
    ],
    "computation = result with \\binom, trig, log, determinant": [
        ("10", "\\boxed{\\binom{5}{2} = 10}", True),
        ("11", "\\boxed{\\binom{5}{2} = 10}", False),
        ("\\frac{1}{2}", "\\boxed{\\sin 30^\\circ = \\frac{1}{2}}", True),
        ("3", "\\boxed{\\log_2 8 = 3}", True),
        ("-2", "\\boxed{\\begin{vmatrix} 1 & 2 \\\\ 3 & 4 \\end{vmatrix} = -2}", True),
        ("-2", "\\boxed{\\det\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} = -2}", True),
        ("6", "\\boxed{\\binom{n}{2} = 6}", False),  # an unknown on the left: an equation, not a computation
    ],
    "words or units in the gold": [
        ("17\\text{ any text}", "\\boxed{17}", True),
        ("17\\text{ any text}", "\\boxed{18}", False),
        ("17\\text{ meals}", "\\boxed{17 meals}", True),
        ("3\\mathrm{e}", "\\boxed{3}", False),  # a constant, not a word
    ],
    "the answer stated, then checked": [
        (
            "56",
            "Therefore, Frank answered 56 questions correctly.\n\nTo check: 280 - 48 = 232 points, which is 232.",
            True,
        ),
        (
            "56",
            "Therefore, Frank answered 56 questions correctly.\n\nLet me double-check this. If he answered 56 "
            "correctly, that's \\( 56 \\times 5 = 280 \\) points. So, total score is \\( 280 - 48 = 232 \\), "
            "which matches the given score. Everything checks out.",
            True,
        ),
        (
            "8",
            FILLER + "\n\nI think I've approached this from different angles and consistently arrived at 8 meals. "
            "So, I'm confident that's the correct answer.",
            True,
        ),
        (
            "9",
            FILLER + "\n\nI think I've approached this from different angles and consistently arrived at 8 meals. "
            "So, I'm confident that's the correct answer.",
            False,
        ),
        (
            "11\\sqrt{2}",
            FILLER + "\n\nTherefore, the diagonal is \\(11\\sqrt{2}\\).\n\nTo verify, we can check that "
            "\\((11\\sqrt{2})^2 = 242\\), which matches the sum of the squares.",
            True,
        ),
        (
            "5",
            FILLER + "\n\nHence \\(x = 5\\).\n\nCheck: substituting \\(x = 5\\) gives \\(2(5) + 3 = 13\\), which "
            "is correct.",
            True,
        ),
        (
            "7",
            FILLER + "\n\nHence \\(x = 5\\).\n\nLet me verify: substituting gives 13, which does not match 17. "
            "Actually \\(x = 7\\), which is correct.",
            True,
        ),  # a check that revises: its result counts
        (
            "5",
            FILLER + "\n\nHence \\(x = 5\\).\n\nLet me verify: substituting gives 13, which does not match 17. "
            "Actually \\(x = 7\\), which is correct.",
            False,
        ),
    ],
    "answers that float mid-reasoning in a long trace": [
        (
            "64",
            "If n can only be 64, then the answer is 64. But wait, n could also be 32. "
            + FILLER
            + "\n\nSo n = 32 works as well, and the count changes.",
            False,
        ),
        (
            "63",
            FILLER + "\n\nLet me recount: 9 columns * 7 rows = 63. But some cells are blocked, so I need to "
            "subtract the blocked ones, which are",
            False,
        ),
        ("64", FILLER + "\n\nSo the answer is 64.", True),
    ],
    "headers, inline conclusions, ordinals": [
        ("12", "**Step 3: Compute the total**\n\nAdding them up gives\n\\[\n5 + 7 = 12\n\\]", True),
        ("12", "**Step 3: Combine 5 and 7**\n\nThe total is\n\\[\n12\n\\]", True),
        ("7", "**Step 3: Combine 5 and 7**\n\nThe total is\n\\[\n12\n\\]", False),
        ("45", FILLER + "\n\nThus the value of \\(x\\) is \\(45\\).", True),
        ("10", FILLER + "\n\nSo the 8th grade should have 10 students.", True),
        ("8", FILLER + "\n\nSo the 8th grade should have 10 students.", False),
        ("5", "**Final Answer: 5**", True),
    ],
}

CASES = [
    pytest.param(g, p, e, id=f"{cls[:24]}-{i}") for cls, rows in CLASSES.items() for i, (g, p, e) in enumerate(rows)
]


@pytest.mark.parametrize("gold,prediction,expected", CASES)
def test_label_class(gold, prediction, expected):
    v = verify(gold, prediction)
    assert bool(v.equivalent) is expected, (v.extracted_pred, v.method, v.pred_source, v.detail)


def test_junk_input_is_decided_quickly_without_a_worker_timeout():
    """Garbage that used to cost a full worker timeout: rejected by the cheap checks, status not 'timeout'."""
    junk = [
        "\\boxed{" + "{" * 5000 + "}",
        "\\boxed{" + "\\frac" * 3000 + "}",
        "\\boxed{" + "9" * 50_000 + "}",
        "\\boxed{" + "x^" * 2000 + "2}",
    ]
    for p in junk:
        v = verify("7", p, timeout_ms=20_000)
        assert v.status != "timeout" and not v.equivalent, (p[:40], v.status, v.detail)
