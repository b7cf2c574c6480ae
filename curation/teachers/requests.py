"""A live teacher's identity (what its cached answers are keyed by), its model paths, and the requests a set of
queries becomes: shared by the distill stage and every LLM step that asks a teacher (`curation.llm`)."""

from __future__ import annotations

from typing import Any

from ..config.distill import TeacherConfig
from ..errors import UserError
from .base import Request, request_key
from .sampling import build_messages, sample_seed, sampling_params


def teacher_identity(t: TeacherConfig) -> dict[str, Any]:
    ident: dict[str, Any] = {"backend": t.backend, "model": t.model, "revision": t.revision}
    if t.openai is not None:
        ident.update(base_url=t.openai.base_url, endpoint=t.openai.endpoint)
    return ident


def _render_prompts(t: TeacherConfig) -> Any:
    """The completions endpoint takes text: render the chat template locally with the teacher's tokenizer."""
    from transformers import AutoTokenizer

    name = t.tokenizer or t.model
    try:
        tok = AutoTokenizer.from_pretrained(name, revision=t.revision)
    except Exception as e:
        raise UserError(
            f"teacher {t.name!r}: endpoint 'completions' needs the model's chat template; cannot load "
            f"tokenizer {name!r} ({e}); set `tokenizer:` to a local folder or use endpoint 'chat'"
        ) from e
    kwargs = (t.generation.chat_template_kwargs if t.generation else None) or {}
    return lambda msgs: tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False, **kwargs)


def build_requests(t: TeacherConfig, queries: list[dict[str, Any]]) -> list[Request]:
    gen = t.generation
    assert gen is not None
    if t.backend == "vllm" or (t.backend == "openai" and t.openai and t.openai.samples_per_request == "one"):
        groups = [[i] for i in range(gen.n)]  # one request per sample, each with its own seed
    else:
        groups = [list(range(gen.n))]  # one request asks all n choices
    render = _render_prompts(t) if t.openai is not None and t.openai.endpoint == "completions" else None
    ident = teacher_identity(t)
    out = []
    for q in queries:
        messages = build_messages(gen, q["problem"])
        prompt = render(messages) if render else None
        for g in groups:
            sampling = sampling_params(gen, len(g), sample_seed(gen, g[0]), logprobs=t.logprobs)
            out.append(
                Request(
                    key=request_key(ident, messages, prompt, sampling, g),
                    query_id=q["query_id"],
                    messages=messages,
                    sample_indices=g,
                    sampling=sampling,
                    prompt=prompt,
                )
            )
    return out


def resolve_local_paths(t: TeacherConfig, base_dir: Any) -> TeacherConfig:
    """`model:`/`tokenizer:` that are folders next to the manifest resolve from there (like every other path)."""
    from pathlib import Path

    update = {}
    for f in ("model", "tokenizer"):
        v = getattr(t, f)
        if v and not Path(v).is_absolute() and (Path(base_dir) / v).exists():
            update[f] = str((Path(base_dir) / v).resolve())
        elif v and (v.startswith((".", "/", "~")) or v.count("/") > 1) and not Path(v).expanduser().exists():
            where = Path(v) if Path(v).is_absolute() else (Path(base_dir) / v).resolve()
            raise UserError(
                f"teacher {t.name!r}: {f} folder {where} does not exist (relative paths resolve from the manifest's "
                "folder). For the demo's SmolLM2, `make demo` builds it, or run "
                f"`python -m curation.teachers.tiny_model {where}`"
            )
    return t.model_copy(update=update) if update else t
