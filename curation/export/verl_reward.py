"""verl reward for cotforge exports, backed by cotforge's verifiers (math) and sandboxes (code).

verl's default reward knows only its own `data_source` names (openai/gsm8k, lighteval/MATH, …) and fails on
cotforge's source names. Point verl at this file instead:

    custom_reward_function.path=<path of this file>   custom_reward_function.name=compute_score

(`python -c "import curation.export.verl_reward as m; print(m.__file__)"` prints the path; the verl export also
writes `cotforge_reward.py` next to its parquet, which imports this module.) cotforge must be installed where verl
runs. The domain comes from `extra_info.domain` (written by the export), else from the ground truth's shape.
"""

from __future__ import annotations

import json
from typing import Any


def _domain(ground_truth: Any, extra_info: dict | None) -> str:
    d = (extra_info or {}).get("domain") if isinstance(extra_info, dict) else None
    if d:
        return str(d)
    if isinstance(ground_truth, str) and ground_truth.lstrip().startswith(("{", "[")):
        try:
            json.loads(ground_truth)
            return "code"  # the sandboxes tests JSON
        except ValueError:
            pass
    return "math"


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **kwargs: Any
) -> float:
    """1.0 when the response is right (math: its final answer is equivalent to the reference; code: its last fenced
    code block passes every test), else 0.0. A reference the verifier cannot read scores 0.0 (verl needs a
    number); `data_source` is not needed (the domain says which verifier)."""
    if _domain(ground_truth, extra_info) == "code":
        from sandboxes.reward import reward as code_reward

        return float(code_reward([solution_str], [ground_truth], workers=1)[0])
    from verifiers.math.reward import reward as math_reward

    got = math_reward([solution_str], [str(ground_truth)])[0]
    return 0.0 if got is None else float(got)
