"""One generation config → the exact params of a request, the prompt messages, and each backend's spelling."""

from __future__ import annotations

from typing import Any

from ..config.distill import GenerationConfig

# Keys of the OpenAI request body that every compatible server knows; the rest are server extras (vLLM, SGLang…).
_STANDARD = ("n", "max_tokens", "temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
_EXTRA = ("top_k", "min_p", "min_tokens", "repetition_penalty", "chat_template_kwargs")


def sampling_params(gen: GenerationConfig, n: int, seed: int | None, logprobs: bool = False) -> dict[str, Any]:
    """The params actually sent for one request (n choices, one seed); recorded on every trace.

    `logprobs` (the teacher's opt-in) is a backend-neutral `"logprobs": true` here, so it enters the request key;
    each backend spells it its own way (OpenAI chat `logprobs: true`, completions `logprobs: 1`, vLLM
    `SamplingParams(logprobs=0)`, transformers `output_logits`)."""
    p: dict[str, Any] = {
        "n": n,
        "max_tokens": gen.max_tokens,
        "temperature": gen.temperature,
        "top_p": gen.top_p,
        "top_k": gen.top_k if gen.top_k not in (None, 0) else None,
        "min_p": gen.min_p,
        "min_tokens": gen.min_tokens,
        "seed": seed,
        "stop": list(gen.stop) if gen.stop else None,
        "presence_penalty": gen.presence_penalty,
        "frequency_penalty": gen.frequency_penalty,
        "repetition_penalty": gen.repetition_penalty,
        "chat_template_kwargs": gen.chat_template_kwargs or None,
    }
    p = {k: v for k, v in p.items() if v is not None}
    if logprobs:
        p["logprobs"] = True
    if gen.extra_body:
        p["extra_body"] = dict(gen.extra_body)
    return p


def sample_seed(gen: GenerationConfig, sample_index: int, replica: int = 0) -> int | None:
    """Distinct per sample and per data-parallel replica (never one engine seed shared across replicas)."""
    if gen.seed is None:
        return None
    return gen.seed + sample_index + replica * 1_000_003


def build_messages(gen: GenerationConfig, problem: str) -> list[dict[str, str]]:
    msgs = []
    if gen.system_prompt:
        msgs.append({"role": "system", "content": gen.system_prompt})
    msgs.append({"role": "user", "content": gen.prompt_template.replace("{problem}", problem)})
    return msgs


def openai_body(
    model: str, sampling: dict[str, Any], messages: list[dict[str, str]] | None = None, prompt: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model}
    if messages is not None:
        body["messages"] = messages
    if prompt is not None:
        body["prompt"] = prompt
    for k in _STANDARD + _EXTRA:
        if k in sampling:
            body[k] = sampling[k]
    if sampling.get("logprobs"):
        # chat: a flag (top_logprobs omitted = none); completions: how many alternatives, and 1 is the smallest
        # count every server honours (the sampled token's own logprob always comes back)
        body["logprobs"] = True if messages is not None else 1
    body.update(sampling.get("extra_body") or {})
    return body


def vllm_sampling_kwargs(sampling: dict[str, Any]) -> dict[str, Any]:
    """`SamplingParams(**kwargs)`; chat_template_kwargs go to `LLM.chat`, not here."""
    kw = {k: v for k, v in sampling.items() if k not in ("chat_template_kwargs", "extra_body")}
    if kw.pop("logprobs", None):
        kw["logprobs"] = 0  # the sampled token's logprob only, no alternatives
    kw.update({k: v for k, v in (sampling.get("extra_body") or {}).items()})
    return kw
