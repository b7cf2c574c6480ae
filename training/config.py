"""Typed training configs: cotforge's own keys in pydantic, every trainer option passed to TRL's own config class.

A recipe is YAML with `model`, `data`, an optional `lora`, and `trainer` (any field of TRL's `SFTConfig`,
`DPOConfig`, `CPOConfig` or `GRPOConfig`, or of `transformers.TrainingArguments` for REDI). The TRL class validates
`trainer`, so every TRL option is reachable without cotforge repeating it. Relative paths resolve against the recipe's
folder, as in pipeline manifests.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from curation.config.base import Section
from curation.errors import UserError
from curation.manifest import _line_of, format_validation_error


class TinyInit(Section):
    """A randomly initialised model built from a config: for tests and CPU labs, never for real training."""

    architecture: Literal["llama", "qwen2"] = "llama"
    tokenizer: str = Field(description="tokenizer folder (its vocabulary sizes the model)")
    hidden_size: int = Field(default=128, gt=0)
    intermediate_size: int = Field(default=256, gt=0)
    num_hidden_layers: int = Field(default=2, gt=0)
    num_attention_heads: int = Field(default=2, gt=0)
    num_key_value_heads: int = Field(default=1, gt=0)
    max_position_embeddings: int = Field(default=2048, gt=0)
    seed: int = 0


class ModelSpec(Section):
    path: str | None = Field(default=None, description="model folder or hub id (hub ids need the HF cache offline)")
    init: TinyInit | None = Field(default=None, description="build a random model from a config instead of `path`")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    chat_template: str = Field(
        default="auto",
        description="auto (the tokenizer's own, made training-ready) | chatml | a .jinja file; it must keep the "
        "reasoning so stage 1 and stage 2 tokenize identically",
    )
    attn_implementation: str | None = Field(default=None, description="e.g. sdpa, flash_attention_2")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.init is None):
            raise ValueError(
                "give exactly one of model.path (a model folder or hub id) or model.init (a tiny "
                "model built from a config)"
            )
        return self


class DataSpec(Section):
    path: str = Field(description="an exported file (.jsonl/.json/.parquet), a folder of them, or a hub dataset id")
    split: str = "train"
    name: str | None = Field(default=None, description="hub dataset config name")
    limit: int | None = Field(default=None, gt=0, description="first N rows only")
    eval_path: str | None = Field(default=None, description="held-out rows for the trainer's eval loss")


class LoraSpec(Section):
    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class EvalSpec(Section):
    """Periodic evaluation during training through quantify's scorer (accuracy on a benchmark slice)."""

    benchmark: str = Field(description="bundled benchmark name or a .jsonl file with problem/answer")
    limit: int = Field(default=32, gt=0)
    every_steps: int = Field(default=50, gt=0)
    max_new_tokens: int = Field(default=512, gt=0)
    prompt_template: str = "{problem}"


class TrainConfig(Section):
    model: ModelSpec
    data: DataSpec
    lora: LoraSpec | None = None
    evaluation: EvalSpec | None = None
    trainer: dict[str, Any] = Field(default_factory=dict, description="fields of the TRL / transformers config")
    output_dir: str = Field(default="runs/train", description="checkpoints, metrics.jsonl, the final model")
    seed: int = 42


class SFTSpec(TrainConfig):
    pass


class REDISpec(TrainConfig):
    loss: Literal["redi", "symmetric", "dpo", "simpo"] = Field(
        default="redi", description="redi (α below), symmetric (α = 1), or TRL's DPO / SimPO on the same pairs"
    )
    alpha: float = Field(default=0.8, ge=0.0, le=1.0, description="weight of the negative term (paper: 0.8)")
    exclude_truncated_negatives: bool = Field(
        default=True, description="drop pairs whose rejected trace was cut off (finish_reason length)"
    )
    max_prompt_length: int | None = Field(default=800, gt=0, description="pairs with longer prompts are dropped")
    max_completion_length: int | None = Field(
        default=19000, gt=0, description="pairs with a longer chosen or rejected are dropped"
    )
    log_update_norm: bool = Field(default=True, description="log ‖θ_t+1 − θ_t‖ at logging steps (collapse signal)")
    beta: float | None = Field(default=None, gt=0, description="DPO / SimPO β (defaults: TRL's)")
    simpo_gamma: float | None = Field(default=None, ge=0, description="SimPO γ")


class RewardSpec(Section):
    name: Literal["accuracy", "format", "length"]
    weight: float = 1.0


class RLSpec(TrainConfig):
    rewards: list[RewardSpec] = Field(default_factory=lambda: [RewardSpec(name="accuracy")])
    code_partial_credit: bool = Field(default=False, description="code reward = fraction of tests passed")
    length_target: int | None = Field(
        default=None, gt=0, description="length reward: completions past this many characters lose reward"
    )


KINDS: dict[str, type[TrainConfig]] = {"sft": SFTSpec, "redi": REDISpec, "rl": RLSpec}


def read_yaml(path: Path, what: str) -> tuple[dict, Any]:
    if not path.exists():
        raise UserError(f"{path}: {what} file not found")
    text = path.read_text()
    try:
        root, data = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} is a YAML mapping, got {type(data).__name__}")
    return data, root


def load_config(path: str | Path, kind: str, output_dir: str | None = None) -> TrainConfig:
    """Validate a recipe; relative paths become absolute against the recipe's folder."""
    path = Path(path)
    model = KINDS[kind]
    data, root = read_yaml(path, f"{kind} config")
    try:
        cfg = model.model_validate(data)
    except ValidationError as e:
        raise UserError(format_validation_error(e, path, root, model=model, what=f"{kind} config")) from None
    base = path.parent.resolve()
    cfg.model.path = _local_or_id(cfg.model.path, base)
    if cfg.model.init is not None:
        cfg.model.init.tokenizer = _local_or_id(cfg.model.init.tokenizer, base)
    if cfg.model.chat_template not in ("auto", "chatml"):
        cfg.model.chat_template = str(_resolve(cfg.model.chat_template, base))
    cfg.data.path = _local_or_id(cfg.data.path, base)
    cfg.data.eval_path = _local_or_id(cfg.data.eval_path, base)
    if cfg.evaluation is not None and cfg.evaluation.benchmark.endswith((".jsonl", ".json")):
        cfg.evaluation.benchmark = str(_resolve(cfg.evaluation.benchmark, base))
    cfg.output_dir = str(Path(output_dir).resolve() if output_dir else _resolve(cfg.output_dir, base))
    cfg._source = (path, root)  # type: ignore[attr-defined]
    return cfg


def _resolve(p: str, base: Path) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else (base / q).resolve()


_FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".gz", ".csv", ".jinja", ".j2", ".yaml")


def _local_or_id(p: str | None, base: Path) -> str | None:
    """`org/name` with no such local folder stays a hub id; anything else is a path, made absolute."""
    if p is None:
        return None
    q = _resolve(p, base)
    hub_like = re.fullmatch(r"[\w.-]+/[\w.-]+", p) is not None and not p.endswith(_FILE_SUFFIXES)
    if hub_like and not q.exists():
        return p
    return str(q)


def trl_args(cfg: TrainConfig, config_class: type, **defaults: Any) -> Any:
    """Build TRL's (or transformers') config from `trainer:`; unknown keys get a file:line error with suggestions."""
    names = {f.name for f in dataclasses.fields(config_class)}
    bad = [k for k in cfg.trainer if k not in names]
    src = getattr(cfg, "_source", (Path("<config>"), None))
    if bad:
        lines = []
        for k in bad:
            line = _line_of(src[1], ("trainer", k))
            near = difflib.get_close_matches(k, names, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            lines.append(f"  {src[0]}:{line or '?'}: trainer.{k} is not a field of {config_class.__name__}{hint}")
        raise UserError(f"{src[0]}: invalid trainer options\n" + "\n".join(lines))
    kwargs = {**defaults, **cfg.trainer, "output_dir": cfg.output_dir}
    kwargs.setdefault("seed", cfg.seed)
    try:
        return config_class(**kwargs)
    except (ValueError, TypeError) as e:
        raise UserError(f"{src[0]}: trainer options rejected by {config_class.__name__}: {e}") from e


# ---- cotforge quantify -------------------------------------------------------------------------------------------
class BenchmarkRef(Section):
    name: str = Field(description="bundled benchmark (math500, gsm8k_test, humaneval, …) or a .jsonl file")
    limit: int | None = Field(default=None, gt=0, description="first N problems")


class IdentitySpec(Section):
    fact: str = Field(description="the student's true identity, e.g. 'I am Foo-1B, developed by Bar Labs'")
    fact_identities: list[str] = Field(
        default_factory=list, description="known names the fact itself claims (huggingface, alibaba, …)"
    )
    languages: list[Literal["en", "zh"]] = Field(default_factory=lambda: ["en", "zh"])
    max_tokens: int = Field(default=128, gt=0)
    judge: dict[str, Any] | None = Field(default=None, description="an openai teacher (any compatible server)")


class SimilaritySpec(Section):
    reference: str = Field(default="teacher", description="the model whose answers are the reference")
    test: str = Field(default="student")
    benchmark: BenchmarkRef
    judge: dict[str, Any] | None = Field(default=None, description="an openai teacher for the 1–5 judge scores")


class QuantifySpec(Section):
    models: dict[str, dict[str, Any]] = Field(
        description="name → a manifest teacher without its name (backend, model, generation, …); "
        "base and student are required, teacher optional"
    )
    generation: dict[str, Any] = Field(
        default_factory=lambda: {"max_tokens": 512, "n": 4, "temperature": 0.6, "top_p": 0.95},
        description="defaults for every model's `generation`",
    )
    benchmarks: list[BenchmarkRef] = Field(default_factory=list)
    prompt_template: str = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
    identity: IdentitySpec | None = None
    similarity: SimilaritySpec | None = None
    output_dir: str = "runs/quantify"
    workers: int = Field(default=2, ge=1, description="verifier / sandbox worker processes")

    @model_validator(mode="after")
    def _roles(self):
        missing = [r for r in ("base", "student") if r not in self.models]
        if missing:
            raise ValueError(f"models: missing {', '.join(missing)} (base and student are required)")
        return self


def load_quantify(path: str | Path, output_dir: str | None = None) -> QuantifySpec:
    path = Path(path)
    data, root = read_yaml(path, "quantify config")
    try:
        cfg = QuantifySpec.model_validate(data)
    except ValidationError as e:
        raise UserError(format_validation_error(e, path, root, model=QuantifySpec, what="quantify config")) from None
    base = path.parent.resolve()
    for m in cfg.models.values():
        if isinstance(m.get("model"), str) and m.get("backend") in ("transformers", "vllm"):
            m["model"] = _local_or_id(m["model"], base)
    for b in cfg.benchmarks + ([cfg.similarity.benchmark] if cfg.similarity else []):
        if b.name.endswith((".jsonl", ".json")):
            b.name = str(_resolve(b.name, base))
    cfg.output_dir = str(Path(output_dir).resolve() if output_dir else _resolve(cfg.output_dir, base))
    return cfg
