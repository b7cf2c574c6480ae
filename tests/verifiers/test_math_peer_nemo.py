"""NeMo-Skills' own grader cases (NVIDIA/NeMo-Skills @ 583b90a2d5df, tests/test_math_equal.py, Apache-2.0), checked
in both directions as upstream does, with cotforge's one default config. Several are issue 18's classes: letters in
\\mathrm / \\textbf, a trailing backslash, words after a number in the gold."""

from verifiers.math import verify

EQUAL = [
    (5, 5),
    (5, 5.0),
    ("1/2", 0.5),
    ("\\frac{1}{2}", 0.5),
    ("918\\frac{1}{2}", 918.5),
    ("x^2+2x+1", "x^2 + 2*x + 1"),
    ("x^2+2x+1", "x^2 + 2*x - (-1)"),
    ("y = x^2+2x+1", "2x+ 1+x^2"),
    ("odd", "\\text{odd}"),
    ("E", "\\mathrm{E}"),
    ("A", "\\textbf{A}"),
    ("f'", "f'"),
    ("185", "185\\"),
    ("185\\", "185\\"),
    (".185", "0.185"),
    ("\\frac {1}{2}", 0.5),
    ("17\\text{ any text}", "17"),
    ("\\$10", "10"),
    ("10%", "10"),
    ("10\\%", "10"),
    (5 / 2, "\\frac{5}{2}"),
    ("\\frac{1}{3}", "\\dfrac{1}{3}"),
    ("(r+5)(r+5)", "(r+5)^2"),
    ("\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{3} \\approx 0.577"),
    ("C", "C. x = 42"),
    (
        "\\begin{pmatrix}0&0&0\\\\0&1&0\\\\0&0&1\\end{pmatrix}",
        "\\begin{bmatrix} 0 & 0 & 0 \\\\ 0 & 1 & 0 \\\\ 0 & 0 & 1 \\end{bmatrix}",
    ),
]
UNEQUAL = [
    (5, 5.001),
    ("x^2+2x+1", "x^3+2x+1"),
    ("odd", "\\text{oddd}"),
    ("E", "\\mathrm{E}*2"),
    ("\\sqrt{67},-\\sqrt{85}", "\\sqrt{67}"),
]
# A reference answer is a bare answer: 'C. x = 42' as the *gold* is an option with its text, which we read as an
# equation; upstream's symmetric call accepts it.
DELIBERATE = {("C. x = 42", "C")}
CASES = [(str(a), str(b), True) for x, y in EQUAL for a, b in ((x, y), (y, x))] + [
    (str(a), str(b), False) for x, y in UNEQUAL for a, b in ((x, y), (y, x))
]


def test_nemo_skills_cases():
    wrong = [(g, p) for g, p, e in CASES if bool(verify(g, p).equivalent) is not e]
    assert set(wrong) == DELIBERATE, wrong
    false_positives = [(g, p) for g, p, e in CASES if not e and verify(g, p).equivalent]
    assert not false_positives
    assert len(CASES) == 62
