"""verifiers.math.problem: an answer that restates the question, and a form the problem demands (issue 18)."""

from verifiers.math.problem import form_violation, restates_question

SIMPLIFY = "Simplify $\\frac{\\sqrt{160}}{\\sqrt{252}}$ and rationalize the denominator."
PLANE = (
    "Find the equation of the plane. Enter your answer in the form \\[Ax + By + Cz + D = 0,\\] where A, B, C, D "
    "are integers such that $A > 0$ and $\\gcd(|A|,|B|,|C|,|D|) = 1.$"
)


def test_a_restated_expression_is_not_an_answer():
    assert restates_question(SIMPLIFY, "\\frac{\\sqrt{160}}{\\sqrt{252}}", "\\frac{2\\sqrt{70}}{21}")
    assert restates_question(SIMPLIFY, "\\dfrac{\\sqrt{160}}{\\sqrt{252}}", "\\frac{2\\sqrt{70}}{21}")
    assert not restates_question(SIMPLIFY, "\\frac{2\\sqrt{70}}{21}", "\\frac{2\\sqrt{70}}{21}")
    assert restates_question("Find $BD^2$ for every such rhombus.", "BD^2", "480")


def test_an_answer_the_question_legitimately_repeats_is_kept():
    assert not restates_question("Which is larger, $2^{30}$ or $3^{20}$?", "3^{20}", "3^{20}")
    assert not restates_question("If $x = 5$, what is $2x$?", "10", "10")  # numbers are not restatements
    choices = "What is it? $\\textbf{(A) } x+1 \\qquad \\textbf{(B) } x+2$"
    assert not restates_question(choices, "x+1", "x+2")


def test_demanded_forms():
    assert "factor 4" in form_violation(PLANE, "4x + 8y - 12z + 16 = 0")
    assert form_violation(PLANE, "x + 2y - 3z + 4 = 0") is None
    assert form_violation(PLANE, "x + 2y + 4z - 6 = 0") is None  # the bare x has coefficient 1
    frac = "Express your answer as a common fraction."
    assert "lowest terms" in form_violation(frac, "\\frac{6}{8}")
    assert form_violation(frac, "\\frac{3}{4}") is None and form_violation("What is x?", "\\frac{6}{8}") is None
    interval = "Express your answer in interval notation."
    assert form_violation(interval, "x > 3") and form_violation(interval, "(3, \\infty)") is None


def test_unsimplified_answers_to_compute_problems():
    p = "Simplify \\[\\cos \\left( \\frac{2 \\pi}{15} \\right) \\cos \\left (\\frac {4 \\pi}{15} \\right).\\]"
    assert form_violation(
        p, "\\frac{1}{4} \\left[ \\cos^2 \\left( \\frac{2 \\pi}{5} \\right) + 1 \\right]", "\\frac{1}{16}"
    )
    assert form_violation(p, "\\frac{1}{16}", "\\frac{1}{16}") is None
    q = "Compute $\\sin^3 18^\\circ + \\sin^2 18^\\circ.$"
    assert form_violation(q, "\\sin^3 18^\\circ + \\sin^2 18^\\circ = \\frac{1}{8}", "\\frac{1}{8}") is None


def test_reward_with_prompts_cannot_be_gamed_by_restating_the_question():
    from verifiers.math import reward

    restated, real = "\\boxed{\\frac{\\sqrt{160}}{\\sqrt{252}}}", "\\boxed{\\frac{2\\sqrt{70}}{21}}"
    gold = ["\\frac{2\\sqrt{70}}{21}"] * 2
    assert reward([restated, real], gold) == [1.0, 1.0]  # value only: the restatement equals the reference
    chat = [{"role": "system", "content": "Reason step by step."}, {"role": "user", "content": SIMPLIFY}]
    assert reward([restated, real], gold, prompts=[SIMPLIFY, chat]) == [0.0, 1.0]
    assert reward(["\\boxed{4x + 8y - 12z + 16 = 0}"], ["x + 2y - 3z + 4 = 0"], prompts=[PLANE]) == [0.0]
