"""Imported once by each verifier worker before it reports ready, so the first real tasks do not pay sympy's lazy
imports and first-use set-up (measured: the first pass over 18 typical sympy cases took 3-4x a later pass).

The cases exercise each comparison path (exact, numeric, intervals, sets, ±, trig, relations, bases, matrices);
their values are unlike real answers on purpose, so what they warm is code, not a cached result."""

from .core import verify_local

WARM = (
    ("\\frac{1}{2}", "\\boxed{0.5}"),
    ("x^2+1", "\\boxed{1+x^2}"),
    ("(1,2)", "\\boxed{(1,2)}"),
    ("7", "\\boxed{2\\cdot 11^2\\cdot 13}"),
    ("3+\\sqrt{7}", "\\boxed{\\sqrt{7}+3}"),
    ("5 \\pm 3\\sqrt{11}", "\\boxed{5+3\\sqrt{11}, 5-3\\sqrt{11}}"),
    ("\\tan y", "\\boxed{\\frac{\\sin y}{\\cos y}}"),
    ("\\left[ \\frac{\\pi}{7}, \\frac{3\\pi}{7} \\right]", "\\boxed{[\\pi/7, 3\\pi/7]}"),
    ("(-\\infty, 4) \\cup (9, \\infty)", "\\boxed{(9,\\infty)\\cup(-\\infty,4)}"),
    ("\\{2, -\\sqrt{3}\\}", "\\boxed{\\{-\\sqrt{3}, 2\\}}"),
    ("11\\pi", "\\boxed{11}"),
    ("21", "\\boxed{q - 17}"),
    ("y = 2x + 3", "\\boxed{y=3+2x}"),
    ("1011_2", "\\boxed{11}"),
    ("40^\\circ", "\\boxed{40}"),
    ("\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}}"),
    ("e^{2}", "\\boxed{e^2}"),
    ("\\log_2 9", "\\boxed{2\\log_2 3}"),
    ("x \\geq 3", "\\boxed{[3, \\infty)}"),
)

for _g, _p in WARM:
    verify_local(_g, _p)
