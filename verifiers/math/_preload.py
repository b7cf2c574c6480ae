"""Imported once by the forkserver so every worker forks with sympy and the LaTeX parser already warm."""
from .core import verify_local

for _g, _p in (("\\frac{1}{2}", "\\boxed{0.5}"), ("x^2+1", "\\boxed{1+x^2}"), ("(1,2)", "\\boxed{(1,2)}")):
    verify_local(_g, _p)
