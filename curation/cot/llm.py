"""Where the LLM parts of curation/cot get a `generate(prompts) -> texts` function from a manifest teacher."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import UserError

Generate = Callable[[list[str]], list[str]]


def teacher_generate(manifest: Any, name: str, cache_dir: Path) -> Generate:
    """A generate function over the named teacher (distill's backends and request cache)."""
    names = [t.name for t in getattr(manifest, "teachers", [])]
    if name not in names:
        raise UserError(f"teacher {name!r} is not in `teachers:` (have: {', '.join(names) or 'none'})")
    from ..teachers import make_backend

    teacher = next(t for t in manifest.teachers if t.name == name)
    try:
        backend = make_backend(teacher)
    except ValueError as e:
        raise UserError(f"teacher {name!r} cannot serve the LLM steps of the segment stage: {e}") from None
    return backend_generate(backend, sampling={"temperature": 0.1, "max_tokens": 2048})


def backend_generate(backend: Any, sampling: dict | None = None) -> Generate:
    """`generate(prompts)` over any `curation.teachers` backend (one user message per prompt, one sample)."""
    from ..teachers import Request
    from ..records import canonical_json
    import hashlib

    params = {"n": 1, **(sampling or {})}

    def generate(prompts: list[str]) -> list[str]:
        reqs = []
        for i, p in enumerate(prompts):
            msgs = [{"role": "user", "content": p}]
            key = hashlib.sha256(canonical_json([backend.name, msgs, params]).encode()).hexdigest()[:24]
            reqs.append(Request(key=f"{key}-{i}", query_id=f"cot-{i}", messages=msgs, sample_indices=[0],
                                sampling=dict(params)))
        by_key = {r.key: r for r in backend.generate(reqs)}
        out = []
        for r in reqs:
            res = by_key.get(r.key)
            out.append(res.choices[0].completion if res is not None and res.ok and res.choices else "")
        return out

    return generate
