"""Regression cases from real traces (published model outputs), hand-checked against both labels.

Only the answer-bearing tail (<= 400 chars) of SkyThought / Qwen2.5 / gemma outputs (SkyThought repo, Apache-2.0);
no QwQ-32B rows (not licensed for redistribution). Where our verdict differs from a label, the reason says why.
"""

import pytest

from verifiers.math import verify

# (trace_id, gold, response tail, expected equivalent, why)
CASES = [
    (
        "amc23-00310",
        "50",
        "\\times \\frac{50}{43} = 50\n   \\]\n\n8. **Conclusion**: The original price of the most expensive shoes he can afford is \\( \\boxed{50} \\).\n\nTo verify, if the original price is $50, the discounted price is \\( 0.8 \\times 50 = $40 \\), and the sales tax is \\( 0.075 \\times 40 = $3 \\). The total price is \\( 40 + 3 = $43 \\), which is exactly what he has. Therefore, the answer is correct. \n\n<|end_of_solution|>",
        True,
        "a boxed answer followed by 'Therefore, the answer is correct.': prose after 'answer is' is not an answer",
    ),
    (
        "math500-02211",
        "5",
        "**: We notice that $-5^3 + 5^3$ cancels out to $0$. Thus, the expression simplifies to:\n   \\[\n   5^1 + 0\n   \\]\n\n4. **Final Answer**: Since $5^1 = 5$, the final simplified form of the expression is:\n   \\[\n   \\boxed{5}\n   \\]\n\nThis step-by-step approach closely follows the original solution, breaking down the process into clear, logical steps and ensuring that the final answer is clearly highlighted.",
        True,
        "'the final answer is clearly highlighted' after \\boxed{5} must not override the box",
    ),
    (
        "math500-00099",
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
        "1}{3}.\n\\]\nThen, using \\(v_1 = -\\frac{1}{3}\\), we find:\n\\[\nv_2 = v_1 + 1 = -\\frac{1}{3} + 1 = \\frac{2}{3},\n\\]\n\\[\nv_3 = v_1 + 2 = -\\frac{1}{3} + 2 = \\frac{5}{3}.\n\\]\nThus, the vector \\(\\mathbf{v}\\) is:\n\\[\n\\mathbf{v} = \\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}.\n\\]\nThe final answer is:\n\\[\n\\boxed{\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}}.\n\\]",
        True,
        "column vector with -1/3 entries vs the same vector in \\frac form (the '\\\\ ' row break survived cleanup)",
    ),
    (
        "math500-00379",
        "12",
        "ers is:\n- 9th Grade: \\( |123.3 - 159.77| = 36.47 \\)\n- 10th Grade: \\( |103.2 - 134.055| = 30.855 \\)\n- 11th Grade: \\( |61.8 - 55.89| = 5.91 \\)\n- 12th Grade: \\( |34.8 - 34.83| = 0.03 \\)\n\nThe smallest difference is in the 12th grade.\n\nThus, the grade for which the number of its male bus riders is closest to \\(135\\%\\) of the number of its female bus riders is \\(\\boxed{12^{\\mathrm{th}} \\text{ grade}}\\).",
        True,
        "ordinal '12^{\\mathrm{th}} grade' is the number 12; the Math-Verify label (False) is wrong",
    ),
    (
        "amc23-00272",
        "3",
        "(a_2, b_2) = 3\\), and b_2 ≤1, a_2 must be 3.\n\nAlternatively, perhaps there's a mistake in assuming c_2 =1.\n\nWait, from \\(\\max(b_2, c_2) = 1\\), and b_2 ≤1, c_2 must be ≤1.\n\nBut if c_2 =1, and b_2 =1, then \\(\\max(b_2, d_2) = 2\\) implies d_2 =2.\n\nSimilarly, \\(\\max(c_2, d_2) = 2\\) is consistent with c_2 =1 and d_2 =2.\n\nBut then a_2 must be 3 to satisfy \\(\\max(a_2, b_2) = 3\\).\n\nBut then the sum is 3 +1",
        False,
        "truncated long trace: the last math '\\max(a_2,b_2)=3' is a reasoning step followed by more reasoning, not an answer",
    ),
    (
        "aime24-00187",
        "025",
        " \\)\n\nLet me denote \\( a = \\ln(x) \\), then \\( x = e^a \\), and \\( \\frac{10}{x} = \\frac{10}{e^a} = 10 e^{-a} \\)\n\nSo, the equation becomes:\n\n\\( \\left(10 e^{-a} + 1\\right) a = \\ln(25) \\)\n\nThis is an equation in terms of \\( a \\), which seems complicated to solve algebraically.\n\nMaybe I should consider numerical methods or look for a specific value of \\( a \\) that satisfies this equation.\n\nAlternatively,",
        False,
        "trace cut off mid-reasoning ('Alternatively,'); the last math is the variable 'a'. Source label True is wrong",
    ),
    (
        "math500-01943",
        "45",
        " overkill.\n\nThe sum of the first \\( n \\) terms of an arithmetic sequence is:\n\n\\[ s_n = \\frac{n}{2} (a_1 + a_n) \\]\n\nBut again, since we have only three terms, and we know the first and third terms, we can find the sum and then find \\( x \\), but it's unnecessary when we already have three different methods giving us \\( x = 45 \\).\n\nI think I've confirmed it enough. The integer value of \\( x \\) is 45.",
        True,
        "no box: the closing sentence 'The integer value of x is 45.' states the answer; a bare 'x' in math is refused",
    ),
    (
        "math500-01503",
        "9",
        "or.\n\n7 squared is 49, so 49 is also a divisor.\n\nNow, combinations of these:\n\n2 × 7 = 14, so 14 is a divisor.\n\n2 × 49 = 98, so 98 is a divisor.\n\n4 × 7 = 28, so 28 is a divisor.\n\n4 × 49 = 196, so 196 is a divisor.\n\nSo, listing them all out: 1, 2, 4, 7, 14, 28, 49, 98, 196.\n\nThat's 9 divisors, which matches the earlier calculation.\n\nTherefore, the number of positive whole-number divisors of 196 is 9.",
        True,
        "no box: 'Therefore, the number of ... divisors of 196 is 9.' (the number after 'is', not 196)",
    ),
    (
        "math500-01830",
        "1940",
        "rinciple.\n\nThe formula for at least one from each party is:\n\nTotal subcommittees - (only Republicans + only Democrats)\n\nWhich is what I did earlier.\n\nSo, that seems solid.\n\nI don't think there's any other way to interpret the problem, and both methods give me the same answer, so I'm confident that 1940 is the correct number of ways to form the subcommittee with at least one member from each party.",
        True,
        "no box: '1940 is the correct number of ways'",
    ),
    (
        "math500-01904",
        "3",
        "Given that the total number of boxes is ten, and we're dealing with sets of boxes that contain pens and pencils, and we've used the principle of inclusion-exclusion correctly, I don't think there's any miscounting.\n\nMoreover, the Venn diagram approach and the complement approach both confirm the same result.\n\nTherefore, I'm confident that the answer is three boxes contain neither pens nor pencils.",
        True,
        "'the answer is three boxes contain ...': a leading number word is the answer",
    ),
    (
        "math500-00198",
        "10,\\!080",
        "*: To find the total number of ways to arrange the 6 girls and 2 boys with the boys next to each other, we multiply the number of ways to arrange the 7 units by the number of ways to arrange the 2 boys within their block.\n\n   \\[\n   7! \\times 2! = 5040 \\times 2 = 10080\n   \\]\n\nThus, the total number of ways to arrange 6 girls and 2 boys in a row with the boys next to each other is \\(\\boxed{10080}\\).",
        True,
        "gold '10,\\!080' vs '10080': thousands separator; the source-grader label (False) is wrong",
    ),
    (
        "math500-00284",
        "3 \\pm 2 \\sqrt{2}",
        "uadratic formula \\(x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}\\), where \\(a = 1\\), \\(b = -6\\), and \\(c = 1\\):\n\\[\nx = \\frac{6 \\pm \\sqrt{36 - 4}}{2} = \\frac{6 \\pm \\sqrt{32}}{2} = \\frac{6 \\pm 4\\sqrt{2}}{2} = 3 \\pm 2\\sqrt{2}.\n\\]\nThus, the solutions are:\n\\[\nx = 3 + 2\\sqrt{2} \\quad \\text{and} \\quad x = 3 - 2\\sqrt{2}.\n\\]\nTherefore, the solutions to the equation are:\n\\[\n\\boxed{3 + 2\\sqrt{2}, 3 - 2\\sqrt{2}}.\n\\]",
        True,
        "gold '3 \\pm 2\\sqrt{2}' vs both roots listed; the source-grader label (False) is wrong",
    ),
    (
        "math500-01179",
        "5x - 7y + 11z + 4 = 0",
        "e, and $(A, B, C)$ are the components of the normal vector.\n\nWe can use the point $(0,-1,-1)$ and the normal vector $(-20,28,-44)$:\n\n$-20(x - 0) + 28(y + 1) - 44(z + 1) = 0$\n\nSimplifying, we get:\n\n$-20x + 28y - 44z - 16 = 0$\n\nTo satisfy the condition $A > 0,$ we multiply both sides by $-1$:\n\n$\\boxed{20x - 28y + 44z + 16 = 0}$\n\nWe can check that the greatest common divisor of the coefficients is 1.",
        True,
        "plane equation scaled by 4 is the same plane; the source-grader label (False) is wrong",
    ),
    (
        "math500-01008",
        "3\\sqrt{13}",
        "nd the distance between two points in a coordinate plane:\n\n√[(x₂ - x₁)² + (y₂ - y₁)²]\n\n**2. Label Your Points**\n\nLet:\n*  (2, -6) be (x₁, y₁)\n*  (-4, 3) be (x₂, y₂)\n\n**3. Substitute the Values into the Distance Formula**\n\n√[(-4 - 2)² + (3 - (-6))²]\n\n**4. Simplify**\n\n√[(-6)² + (9)²] \n√[36 + 81]\n√117\n\n**5. Simplify the Radical (if possible)**\n\n√117 = √(9 * 13) = 3√13\n\n\n**Answer:**  \\boxed{3√13} units",
        True,
        "unicode '3√13' equals 3\\sqrt{13}; both labels (False) are wrong",
    ),
    (
        "math500-00184",
        "(2,\\infty)",
        "ke any value greater than or equal to 2. To confirm, we use the Nesbitt's inequality for positive real numbers \\(a, b, c\\):\n\\[\n\\frac{a}{b+c} + \\frac{b}{c+a} + \\frac{c}{a+b} \\geq \\frac{3}{2}\n\\]\nBy substituting \\(a, b, c\\) appropriately, we can show that the minimum value is indeed 2.\n\nThus, the set of all possible values of \\(\\frac{c}{a} + \\frac{a}{b+c} + \\frac{b}{c}\\) is:\n\\[\n\\boxed{[2, \\infty)}\n\\]",
        False,
        "'[2, \\infty)' includes 2, gold '(2,\\infty)' does not; the source-grader label (True) is wrong",
    ),
    (
        "math500-01293",
        "\\left(\\frac{3}{5},\\frac{8}{3}\\right]",
        "c{3}{5} < p$\n\n**Step 3: Combine the solutions**\n\nWe need values of *p* that satisfy *both* inequalities. This means:\n\n*  $p \\le \\frac{8}{3}$  \n*  $p > \\frac{3}{5}$\n\n**Step 4: Express the solution in interval notation**\n\nThe solution is all values of *p* between $\\frac{3}{5}$ and $\\frac{8}{3}$, excluding the endpoints. In interval notation, this is:\n\n $\\boxed{\\left(\\frac{3}{5}, \\frac{8}{3}\\right)}$",
        False,
        "open interval vs gold half-open '(3/5, 8/3]'; the source-grader label (True) is wrong",
    ),
    (
        "math500-01290",
        "4",
        "pm \\sqrt{(-15)^2 - 4 \\cdot 2 \\cdot 28}}{2 \\cdot 2}$$\n\n$$r = \\frac{15 \\pm \\sqrt{225 - 224}}{4}$$\n\n$$r = \\frac{15 \\pm \\sqrt{1}}{4}$$\n\n$$r = \\frac{15 \\pm 1}{4}$$\n\nThis gives us two possible solutions:\n\n$$r_1 = \\frac{15 + 1}{4} = \\frac{16}{4} = 4$$\n\n$$r_2 = \\frac{15 - 1}{4} = \\frac{14}{4} = \\frac{7}{2}$$\n\n\n\n**Therefore, the values of *r* that satisfy the equation are:**\n\n$$\\boxed{r = 4, \\frac{7}{2}}$$",
        False,
        "two values 'r = 4, 7/2' for a single-answer gold 4 is not the answer; the source-grader label (True) is lenient",
    ),
    (
        "math500-00913",
        "5r^5",
        "{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed{}. \\boxed",
        False,
        "degenerate loop of empty \\boxed{}: no answer (never a too_large or a match)",
    ),
    (
        "math500-01074",
        "\\cot x",
        "{1}{\\cos x \\sin x} - \\frac{\\sin^2 x}{\\cos x \\sin x} = \\frac{1 - \\sin^2 x}{\\cos x \\sin x}.\\]\n\n**Step 4: Use the Pythagorean identity.**\n\nRecall that $\\sin^2 x + \\cos^2 x = 1$.  Therefore, $1 - \\sin^2 x = \\cos^2 x$.  Substituting, we get\n\\[\\frac{1 - \\sin^2 x}{\\cos x \\sin x} = \\frac{\\cos^2 x}{\\cos x \\sin x}.\\]\n\n**Step 5: Simplify.**\n\n\\[\\frac{\\cos^2 x}{\\cos x \\sin x} = \\boxed{\\frac{\\cos x}{\\sin x}}.\\]",
        True,
        "\\cos x/\\sin x is \\cot x (decided by exact-point sampling); the source-grader label (False) is wrong",
    ),
    (
        "math500-01313",
        "12\\pi",
        " the distance of its circumference.\n* Distance per revolution = 18π inches\n\n**3. Find the distance traveled in two revolutions:**\n\n* Distance for two revolutions = 2 * 18π inches = 36π inches\n\n**4. Find the speed:**\n\n* Speed is calculated as distance divided by time.\n* Speed = (36π inches) / (3 seconds) = 12π inches per second\n\n**Therefore, the unicycle's speed is  \\boxed{12π} inches per second.**",
        True,
        "unicode '12π' equals 12\\pi; the source-grader label (False) is wrong",
    ),
    (
        "math500-01893",
        "\\frac 34",
        "ferently. If force is equal for both, and acceleration is proportional to force over mass, then a = F / m.\n\nSo, a_softball = F / m_softball\n\na_baseball = F / m_baseball\n\nTherefore, the ratio a_softball / a_baseball = (F / m_softball) / (F / m_baseball) = m_baseball / m_softball\n\nWhich is what I had earlier.\n\nSo, yes, the ratio is indeed 150/200, which simplifies to 3/4.\n\nI think that's the answer.",
        True,
        "no box: 'the ratio is indeed 150/200, which simplifies to 3/4.' then 'I think that's the answer.'",
    ),
]


@pytest.mark.parametrize("tid,gold,tail,expected,why", CASES, ids=[c[0] for c in CASES])
def test_real_trace_case(tid, gold, tail, expected, why):
    v = verify(gold, tail, isolate=False)
    assert bool(v.equivalent) is expected, f"{tid}: {why}; got {v}"
    if not expected:
        assert v.equivalent is not True


def test_no_answer_cases_report_no_answer():
    by_id = {c[0]: c for c in CASES}
    for tid in ("amc23-00272", "aime24-00187", "math500-00913"):
        _, gold, tail, _, _ = by_id[tid]
        assert verify(gold, tail, isolate=False).status == "no_answer", tid
