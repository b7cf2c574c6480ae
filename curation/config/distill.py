"""`teachers:` and `distill:` sections (owner: teachers/distill).

One `GenerationConfig` describes sampling for every live backend; it maps onto vLLM `SamplingParams` and onto an
OpenAI Chat/Completions body (non-standard knobs go in the body as extra keys), and every trace records the exact
params that were sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from .base import Section, check_env_ref
from .collect import HFSpec

LIVE_BACKENDS = ("vllm", "openai", "transformers")


class GenerationConfig(Section):
    n: int = Field(default=1, ge=1, description="samples per query")
    max_tokens: int = Field(gt=0, description="required: vLLM's silent default is 16 tokens")
    temperature: float = Field(default=1.0, ge=0.0, description="0 = greedy")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, description="None/-1/0 = off")
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    min_tokens: int | None = Field(default=None, ge=0)
    seed: int | None = Field(default=0, description="base seed; each sample gets seed + sample_index")
    stop: list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = Field(default=None, gt=0.0)
    system_prompt: str | None = None
    prompt_template: str = Field(default="{problem}", description="user turn; `{problem}` is replaced by the query")
    chat_template_kwargs: dict[str, Any] | None = Field(default=None, description="e.g. {enable_thinking: true}")
    think_tags: tuple[str, str] | None = Field(
        default=("<think>", "</think>"), description="split reasoning/answer on these; null: no reasoning split"
    )
    extra_body: dict[str, Any] = Field(default_factory=dict, description="more server-specific request keys")

    @model_validator(mode="after")
    def _template(self):
        if "{problem}" not in self.prompt_template:
            raise ValueError("prompt_template must contain '{problem}' (where the query text goes)")
        if self.think_tags is not None and (not self.think_tags[0] or not self.think_tags[1]):
            raise ValueError("think_tags needs two non-empty strings, e.g. ['<think>', '</think>']")
        return self


class OpenAIOptions(Section):
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1")
    api_key: str | None = Field(default=None, description="an env reference like '${OPENAI_API_KEY}', never a key")
    endpoint: Literal["chat", "completions"] = "chat"
    samples_per_request: Literal["n", "one"] = Field(
        default="n", description="n: one request asks n choices (shared prefix); one: a request per sample"
    )
    concurrency: int = Field(default=32, ge=1)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=900.0, gt=0, description="per request; long CoT takes minutes")
    max_retries: int = Field(default=6, ge=0)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _secret(self):
        check_env_ref(self.api_key, "openai.api_key")
        return self


class VLLMOptions(Section):
    tensor_parallel_size: int = Field(default=1, ge=1)
    data_parallel_size: int = Field(default=1, ge=1, description="engine replicas, each with its own seed")
    max_model_len: int | None = Field(default=None, gt=0)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    dtype: str = "auto"
    enforce_eager: bool = False
    enable_prefix_caching: bool = True
    batch_size: int = Field(default=1024, ge=1, description="requests handed to the engine per call")
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="more `LLM(...)` arguments")


class TransformersOptions(Section):
    device: str = Field(default="auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    batch_size: int = Field(default=8, ge=1, description="prompts per generate() call (left-padded)")


class ReplayOptions(Section):
    """Where a replayed teacher's traces are and how their fields map."""

    kind: Literal["jsonl", "parquet", "csv", "hf"] = "jsonl"
    path: Path | None = None
    hf: HFSpec | None = None
    format: Literal["flat", "am", "openr1"] = Field(
        default="flat", description="flat: one trace per row; am: AM-style messages+info; openr1: generation lists"
    )
    join: Literal["problem", "source_id"] = Field(
        default="problem", description="match rows to queries by normalized problem text or by source_id"
    )
    problem: str = "problem"
    source_id: str | None = Field(default=None, description="field matched to queries.source_id (join: source_id)")
    completion: str = Field(default="response", description="flat: raw output; openr1: list of generations")
    reasoning: str | None = None
    answer: str | None = None
    teacher: str | None = Field(default=None, description="field holding the model name (else the teacher's name)")
    finish_reason: str | None = None
    completion_tokens: str | None = None
    sampling: str | None = Field(default=None, description="field describing the decoding, stored in `sampling`")
    mean_logprob: str | None = Field(
        default=None,
        description="field with the trace's mean per-token log-probability (teacher confidence, "
        "≤ 0), stored in `mean_logprob`; openr1: a list parallel to the generations; am: read from the assistant "
        "turn's `info`, then the row",
    )
    models: list[str] | None = Field(default=None, description="keep only these model names")
    limit: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _where(self):
        if self.kind == "hf" and self.hf is None:
            raise ValueError("replay kind 'hf' needs an `hf:` block")
        if self.kind != "hf" and self.path is None:
            raise ValueError(f"replay kind {self.kind!r} needs `path:` (relative to the manifest)")
        if self.join == "source_id" and not self.source_id:
            raise ValueError("join: source_id needs `source_id:` (the field holding the query's source id)")
        return self


class Prices(Section):
    input_per_mtok: float = Field(default=0.0, ge=0)
    output_per_mtok: float = Field(default=0.0, ge=0)


class TeacherConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-/]+$")
    backend: Literal["vllm", "openai", "transformers", "replay"]
    model: str | None = Field(default=None, description="model id / path / served name (live backends)")
    revision: str | None = None
    tokenizer: str | None = Field(default=None, description="HF tokenizer (id or folder) to count tokens with")
    generation: GenerationConfig | None = None
    openai: OpenAIOptions | None = None
    vllm: VLLMOptions | None = None
    transformers: TransformersOptions | None = None
    replay: ReplayOptions | None = None
    max_queries: int | None = Field(default=None, gt=0, description="ask only the first N queries (by query_id)")
    sources: list[str] | None = Field(default=None, description="ask only queries from these sources")
    prices: Prices | None = Field(default=None, description="$ per million tokens, for the cost report")
    license: str | None = Field(
        default=None,
        description="licence or terms of the teacher's outputs (e.g. Apache-2.0 for published "
        "SkyThought outputs); listed on the dataset card next to the sources' licences",
    )
    logprobs: bool = Field(
        default=False,
        description="ask the teacher for the log-probability of every generated token and store their mean in "
        "`traces.mean_logprob` (what `select.pairs.rejected: most_confident` ranks by); changes the request and "
        "its cache key, and costs response bandwidth. Live backends only (replay: `replay.mean_logprob`)",
    )

    @model_validator(mode="after")
    def _backend_fields(self):
        if self.backend == "replay":
            if self.replay is None:
                raise ValueError(f"teacher {self.name!r}: backend 'replay' needs a `replay:` block (path, format, …)")
            if self.logprobs:
                raise ValueError(
                    f"teacher {self.name!r}: a replayed teacher generates nothing, so `logprobs: true` "
                    "cannot apply; point `replay.mean_logprob` at the dataset field that holds it"
                )
            return self
        if not self.model:
            raise ValueError(f"teacher {self.name!r}: backend {self.backend!r} needs `model:`")
        if self.generation is None:
            raise ValueError(f"teacher {self.name!r}: backend {self.backend!r} needs `generation:` with max_tokens")
        if self.backend == "openai" and self.openai is None:
            raise ValueError(f"teacher {self.name!r}: backend 'openai' needs an `openai:` block with base_url")
        return self


class DistillConfig(Section):
    enabled: bool = True
    teachers: list[str] | None = Field(default=None, description="names of `teachers:` to run (default: all)")
    batch_size: int = Field(
        default=256,
        ge=1,
        validation_alias=AliasChoices("batch_size", "part_size"),
        description="requests per keyed output part (the unit of resume; `part_size` is the old name, still read)",
    )
    allow_failures: bool = Field(
        default=False,
        description="false: finish everything, then fail the stage if any request failed (re-run retries only "
        "those); true: keep failed requests as traces with `error` set",
    )
    failure_examples: int = Field(default=5, ge=0)
