"""The one place curation/cot reaches `verifiers.math`, with a clear error while it is not installed."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import UserError


def math_verifier() -> Any:
    try:
        import verifiers.math as vm
    except ImportError as e:  # pragma: no cover - depends on the build
        raise UserError(f"verifiers.math is not available in this build ({e}); approach verdicts need it") from e
    if not hasattr(vm, "verify_batch"):
        raise UserError("verifiers.math has no verify_batch in this build; approach verdicts need it")
    return vm


def available() -> bool:
    try:
        math_verifier()
    except UserError:
        return False
    return True


def verify_pairs(pairs: Sequence[tuple[str, str]], workers: int = 2, timeout_ms: int = 3000) -> list[Any]:
    """Full `Verdict` objects for (gold, prediction) pairs."""
    if not pairs:
        return []
    vm = math_verifier()
    return list(vm.verify_batch(list(pairs), workers=workers, timeout_ms=timeout_ms))


def check_pairs(pairs: Sequence[tuple[str, str]], workers: int = 2, timeout_ms: int = 3000) -> list[bool | None]:
    """True/False per pair; None when the verifier could not decide (timeout, parse error)."""
    return [v.equivalent for v in verify_pairs(pairs, workers, timeout_ms)]
