"""Local `generate` with transformers for small models (CPU or one GPU): batched prompts, left padding.

Seeding: `torch.manual_seed` is set from the batch's first request before each `generate` call, so a run is
reproducible for the same batches; per-sample seeds (as vLLM has) do not exist in `generate`.

Logprobs (teacher opt-in): `generate` keeps the raw logits of every step (`output_logits`) and
`compute_transition_scores` turns them into the log-probability of each chosen token under the model's own
distribution, before temperature/top-p (as vLLM's default `raw_logprobs`), so the number does not depend on the
decoding knobs. Those logits stay in memory until `generate` returns: 4 × vocab bytes per generated token and row,
so lower `transformers.batch_size` for long generations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..config.distill import TeacherConfig, TransformersOptions
from ..errors import UserError
from .base import Choice, Request, Result

_UNSUPPORTED = ("presence_penalty", "frequency_penalty")


class TransformersBackend:
    name = "transformers"

    def __init__(self, teacher: TeacherConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        assert teacher.model and teacher.generation is not None
        gen = teacher.generation
        for k in _UNSUPPORTED:
            if getattr(gen, k) is not None:
                raise UserError(
                    f"teacher {teacher.name!r}: the transformers backend has no {k}; remove it or use "
                    "the vllm/openai backend"
                )
        self.teacher = teacher
        self.opts: TransformersOptions = teacher.transformers or TransformersOptions()
        device = self.opts.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        dtype: Any = "auto" if self.opts.dtype == "auto" else getattr(torch, self.opts.dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                teacher.tokenizer or teacher.model, revision=teacher.revision
            )
            self.model = AutoModelForCausalLM.from_pretrained(teacher.model, revision=teacher.revision, dtype=dtype)
        except OSError as e:
            raise UserError(
                f"teacher {teacher.name!r}: cannot load model {teacher.model!r} with transformers "
                f"(a local folder, or a hub id already in the HF cache): {e}"
            ) from e
        self.model.to(device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def render(self, messages: list[dict[str, str]], chat_template_kwargs: dict[str, Any] | None) -> str:
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False, **(chat_template_kwargs or {})
        )

    def _gen_kwargs(self, s: dict[str, Any]) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "max_new_tokens": s["max_tokens"],
            "num_return_sequences": s.get("n", 1),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if s.get("temperature", 1.0) > 0:
            kw.update(
                do_sample=True, temperature=s["temperature"], top_p=s.get("top_p", 1.0), top_k=s.get("top_k") or 0
            )
            if s.get("min_p") is not None:
                kw["min_p"] = s["min_p"]
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.get("repetition_penalty") is not None:
            kw["repetition_penalty"] = s["repetition_penalty"]
        if s.get("min_tokens"):
            kw["min_new_tokens"] = s["min_tokens"]
        if s.get("stop"):
            kw["stop_strings"] = s["stop"]
            kw["tokenizer"] = self.tokenizer
        if s.get("logprobs"):
            kw.update(output_logits=True, return_dict_in_generate=True)
        return kw

    def _batch(self, batch: list[Request]) -> list[Result]:
        import torch

        s = batch[0].sampling
        n = s.get("n", 1)
        prompts = [r.prompt or self.render(r.messages, s.get("chat_template_kwargs")) for r in batch]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        if s.get("seed") is not None:
            torch.manual_seed(int(s["seed"]))
        kw = self._gen_kwargs(s)
        inputs = dict(enc)
        if not kw["do_sample"] and n > 1:  # generate() refuses n>1 for greedy: repeat the prompts instead
            inputs = {k: v.repeat_interleave(n, dim=0) for k, v in inputs.items()}
            kw["num_return_sequences"] = 1
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kw)
            token_lp = None
            if kw.get("output_logits"):
                token_lp = self.model.compute_transition_scores(out.sequences, out.logits, normalize_logits=True)
                out = out.sequences
        latency = time.perf_counter() - t0
        width = enc["input_ids"].shape[1]
        eos = set(
            self.model.generation_config.eos_token_id
            if isinstance(self.model.generation_config.eos_token_id, list)
            else [self.model.generation_config.eos_token_id]
        )
        eos.discard(None)
        results = []
        for i, req in enumerate(batch):
            choices = []
            for j, sample_index in enumerate(req.sample_indices):
                ids = out[i * n + j, width:].tolist()
                cut = next((k for k, t in enumerate(ids) if t in eos), None)
                gen_ids = ids[:cut] if cut is not None else [t for t in ids if t != self.tokenizer.pad_token_id]
                text = self.tokenizer.decode(gen_ids, skip_special_tokens=True)
                stopped = cut is not None or any(x in text for x in (s.get("stop") or []))
                n_tok = len(gen_ids) + (1 if cut is not None else 0)  # the end-of-sequence token was generated too
                choices.append(
                    Choice(
                        sample_index=sample_index,
                        completion=text,
                        finish_reason="stop" if stopped or len(gen_ids) < s["max_tokens"] else "length",
                        completion_tokens=n_tok,
                        mean_logprob=float(token_lp[i * n + j, :n_tok].mean())
                        if token_lp is not None and n_tok
                        else None,
                    )
                )
            results.append(
                Result(
                    key=req.key,
                    choices=choices,
                    prompt_tokens=int(enc["attention_mask"][i].sum()),
                    completion_tokens=sum(c.completion_tokens or 0 for c in choices),
                    latency_s=latency,
                )
            )
        return results

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        # One generate() call needs one set of params: group by params (they differ only by seed/n here).
        groups: dict[str, list[Request]] = {}
        for r in requests:
            key = repr(sorted((k, repr(v)) for k, v in r.sampling.items() if k != "seed"))
            groups.setdefault(key, []).append(r)
        bs = self.opts.batch_size
        for reqs in groups.values():
            for i in range(0, len(reqs), bs):
                batch = reqs[i : i + bs]
                try:
                    yield from self._batch(batch)
                except (RuntimeError, ValueError) as e:  # OOM, bad params: every request of the batch failed
                    for r in batch:
                        yield Result(key=r.key, error_kind="engine_error", error=f"{type(e).__name__}: {e}")

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
