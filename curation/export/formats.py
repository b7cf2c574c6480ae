"""Writers for each trainer format (ecosystem_conventions.md §4–5). Each takes the filtered frames and a folder.

Parquet outputs carry explicit Arrow types (string, int32, lists of {role, content} structs) and the `datasets`
Features in the schema metadata, so every shard loads with the same features (no inference drift).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from ..store import atomic_write_bytes, atomic_write_json, atomic_write_parquet
from .frame import ExportFrames, preference_rows, prompt_rows, sft_rows

SAMPLING_KEYS = {
    "n": pl.Int64,
    "temperature": pl.Float64,
    "top_p": pl.Float64,
    "top_k": pl.Int64,
    "min_p": pl.Float64,
    "max_new_tokens": pl.Int64,
    "min_new_tokens": pl.Int64,
    "seed": pl.Int64,
    "repetition_penalty": pl.Float64,
    "presence_penalty": pl.Float64,
    "frequency_penalty": pl.Float64,
}

# Columns of every hf config / file format, in order; anything else in the frames is not exported.
SFT_COLUMNS = [
    "messages",
    "query_id",
    "trace_id",
    "teacher",
    "model",
    "source",
    "domain",
    "difficulty",
    "export_tokens",
]
ALL_COLUMNS = [
    "trace_id",
    "query_id",
    "teacher",
    "model",
    "backend",
    "sample_index",
    "sampling",
    "sampling_json",
    "problem",
    "domain",
    "source",
    "source_id",
    "reference_answer",
    "messages",
    "completion",
    "reasoning",
    "answer",
    "simplified_reasoning",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "simplified_tokens",
    "mean_logprob",
    "verdict",
    "extracted_answer",
    "verifier",
    "score",
    "label",
    "pass_rate",
    "difficulty",
]
PREF_COLUMNS = [
    "prompt",
    "chosen",
    "rejected",
    "query_id",
    "chosen_trace_id",
    "rejected_trace_id",
    "chosen_teacher",
    "rejected_teacher",
    "source",
    "domain",
    "difficulty",
    "rejected_finish_reason",
    "rejected_label",
]
RL_COLUMNS = ["prompt", "solution", "tests", "query_id", "source", "source_id", "domain", "pass_rate", "difficulty"]

COLUMN_DOCS = {
    "messages": "chat list [{role, content}]: the user turn(s) and one assistant turn `<think>\\nreasoning\\n</think>"
    "\\n\\nanswer`, or the answer alone where the teacher's output has no separate reasoning (see "
    "'Assistant turn format')",
    "prompt": "chat list [{role, content}] of the user turn(s)",
    "chosen": "chat list with one assistant turn: a verified-correct sample",
    "rejected": "chat list with one assistant turn: a verified-incorrect sample of the same query",
    "solution": "ground truth for reward functions: the reference answer, or the tests JSON for code",
    "tests": "JSON tests for code queries (sandboxes format), else null",
    "query_id": "content hash of the normalised problem (joins configs)",
    "trace_id": "content hash of one sample",
    "teacher": "teacher name from the manifest",
    "model": "teacher model id",
    "backend": "generation backend",
    "sample_index": "index of the sample for this query and teacher",
    "sampling": "decoding parameters sent (fixed keys)",
    "sampling_json": "every decoding parameter sent, as JSON",
    "problem": "the query text",
    "domain": "math | code | science | general",
    "source": "source dataset name",
    "source_id": "row id in the source",
    "reference_answer": "reference answer (math)",
    "completion": "raw teacher output",
    "reasoning": "text inside the think tags",
    "answer": "text after them",
    "simplified_reasoning": "DLCoT-simplified reasoning (null when the segment stage did not run)",
    "finish_reason": "stop | length (length = truncated)",
    "prompt_tokens": "prompt tokens",
    "completion_tokens": "completion tokens",
    "reasoning_tokens": "reasoning tokens",
    "simplified_tokens": "simplified reasoning tokens",
    "export_tokens": "tokens of the exported reasoning",
    "mean_logprob": "teacher's mean log-probability per generated token (null unless logprobs were asked for)",
    "verdict": "correct | incorrect | unverifiable | truncated | error",
    "extracted_answer": "answer the verifier read",
    "verifier": "which verifier judged it",
    "score": "verifier score in [0, 1]",
    "label": "positive | negative | truncated | unverifiable",
    "pass_rate": "share of the query's samples that pass",
    "difficulty": "1 − pass_rate",
    "chosen_trace_id": "trace id of chosen",
    "rejected_trace_id": "trace id of rejected",
    "chosen_teacher": "teacher of chosen",
    "rejected_teacher": "teacher of rejected",
    "rejected_finish_reason": "stop | length of the rejected trace (length = cut off)",
    "rejected_label": "label of the rejected trace (negative, truncated, …)",
}

# `all` keeps each sample as the teacher wrote it
ALL_COLUMN_DOCS = {
    "messages": "chat list [{role, content}]: the user turn(s) and the teacher's raw output "
    "(`completion`, markers and all), not the rendered assistant format"
}


# ---- arrow helpers ----------------------------------------------------------------------------------------
def _plain_type(t: pa.DataType) -> pa.DataType:
    """large_string/large_list/string_view → string/list, so `datasets` sees Value('string') and List(...)."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list(t) or pa.types.is_list_view(t):
        return pa.list_(
            pa.field(t.value_field.name if hasattr(t, "value_field") else "item", _plain_type(t.value_type))
        )
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain_type(f.type)) for f in t])
    if pa.types.is_null(t):
        return pa.string()
    return t


def to_arrow(df: pl.DataFrame, int32: tuple[str, ...] = ()) -> pa.Table:
    table = df.to_arrow()
    fields = []
    for f in table.schema:
        t = _plain_type(f.type)
        if f.name in int32 and pa.types.is_integer(t):
            t = pa.int32()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def with_features(table: pa.Table) -> pa.Table:
    """Attach `datasets` Features to the schema metadata, the way `datasets` itself writes parquet."""
    from datasets import Features

    features = Features.from_arrow_schema(table.schema)
    meta = {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}).encode()}
    return table.replace_schema_metadata(meta)


INT32 = ("sample_index", "prompt_tokens", "completion_tokens", "reasoning_tokens", "simplified_tokens", "export_tokens")


def _select(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return df.select([c for c in columns if c in df.columns])


def write_parquet(table: pa.Table, path: Path) -> None:
    atomic_write_parquet(path, with_features(table))


def write_shards(table: pa.Table, folder: Path, split: str, max_bytes: int) -> list[Path]:
    """`<split>-00000-of-0000N.parquet` shards of about `max_bytes` (uncompressed) each."""
    n = max(1, math.ceil(table.nbytes / max_bytes)) if table.num_rows else 1
    n = min(n, max(1, table.num_rows))
    per = math.ceil(table.num_rows / n) if table.num_rows else 0
    paths = []
    for i in range(n):
        path = folder / f"{split}-{i:05d}-of-{n:05d}.parquet"
        write_parquet(table.slice(i * per, per) if table.num_rows else table, path)
        paths.append(path)
    return paths


# ---- config tables ----------------------------------------------------------------------------------------
def sft_table(f: ExportFrames, positives_only: bool) -> pa.Table:
    return to_arrow(_select(sft_rows(f, positives_only), SFT_COLUMNS), INT32)


def all_table(f: ExportFrames) -> pa.Table:
    df = sft_rows(f, positives_only=False)
    df = df.with_columns(
        pl.col("sampling").str.json_decode(pl.Struct(SAMPLING_KEYS)).alias("sampling"),
        pl.col("sampling").alias("sampling_json"),
        # the raw record keeps the raw reasoning even when the export filter picked the simplified one
        pl.concat_list(
            [
                pl.col("prompt"),
                pl.concat_list(
                    [
                        pl.struct(
                            pl.lit("assistant").alias("role"),
                            pl.coalesce(pl.col("completion"), pl.col("answer"), pl.lit("")).alias("content"),
                        )
                    ]
                ),
            ]
        ).alias("messages"),
    )
    return to_arrow(_select(df, ALL_COLUMNS), INT32)


def preference_table(f: ExportFrames) -> pa.Table:
    return to_arrow(_select(preference_rows(f), PREF_COLUMNS), INT32)


def rl_table(f: ExportFrames) -> pa.Table:
    return to_arrow(_select(prompt_rows(f), RL_COLUMNS), INT32)


# ---- formats ----------------------------------------------------------------------------------------------
def write_hf(f: ExportFrames, out: Path, positives_only: bool, max_shard_mb: int) -> dict[str, Any]:
    """parquet shards per config under data/<config>/; the card is written by the caller (needs run metadata)."""
    configs = {
        "sft": sft_table(f, positives_only),
        "preference": preference_table(f),
        "rl": rl_table(f),
        "all": all_table(f),
    }
    written: dict[str, Any] = {}
    for name, table in configs.items():
        if table.num_rows == 0:
            written[name] = {"rows": 0, "files": [], "skipped": "no rows after filters"}
            continue
        paths = write_shards(table, out / "data" / name, "train", max_shard_mb << 20)
        written[name] = {
            "rows": table.num_rows,
            "files": [str(p.relative_to(out)) for p in paths],
            "columns": [(fld.name, str(fld.type)) for fld in table.schema],
        }
        if name == "sft":
            written[name]["assistant_format"] = assistant_format(table)
    return written


def assistant_format(table: pa.Table) -> dict[str, int]:
    """How the assistant turns of an SFT table are rendered: with `<think>` reasoning, answer only, and how many
    still hold some family's reasoning markers in their text (0 unless a teacher wrote an unknown mix)."""
    from ..teachers.parsing import has_markers

    out = {"think": 0, "answer_only": 0, "markers": 0}
    for msgs in table.column("messages").to_pylist():
        text = (msgs[-1] or {}).get("content") or "" if msgs else ""
        think = text.startswith("<think>\n") and "\n</think>\n\n" in text
        out["think" if think else "answer_only"] += 1
        body = text[len("<think>\n") :].replace("\n</think>\n\n", "", 1) if think else text
        out["markers"] += has_markers(body)
    return out


def write_trl_sft(f: ExportFrames, out: Path, positives_only: bool) -> dict[str, Any]:
    table = sft_table(f, positives_only)
    write_parquet(table, out / "train.parquet")
    return {"files": ["train.parquet"], "rows": table.num_rows}


def write_trl_preference(f: ExportFrames, out: Path) -> dict[str, Any]:
    table = preference_table(f)
    write_parquet(table, out / "train.parquet")
    return {"files": ["train.parquet"], "rows": table.num_rows}


def write_trl_prompt(f: ExportFrames, out: Path) -> dict[str, Any]:
    table = rl_table(f)
    write_parquet(table, out / "train.parquet")
    return {"files": ["train.parquet"], "rows": table.num_rows}


def write_verl(f: ExportFrames, out: Path) -> dict[str, Any]:
    """verl RL parquet: data_source, prompt, ability, reward_model{style, ground_truth}, extra_info{…}; plus
    `cotforge_reward.py` (verl's custom reward: `data_source` holds cotforge source names, which verl's default
    reward does not know) and a README with the settings."""
    q = prompt_rows(f).with_row_index("index")
    df = q.select(
        pl.col("source").fill_null("cotforge").alias("data_source"),
        pl.col("prompt"),
        pl.col("domain").fill_null("general").alias("ability"),
        pl.struct(pl.lit("rule").alias("style"), pl.col("solution").alias("ground_truth")).alias("reward_model"),
        pl.struct(
            pl.lit("train").alias("split"),
            pl.col("index").cast(pl.Int64),
            pl.col("query_id"),
            pl.col("source_id"),
            pl.col("domain").fill_null("general"),
            pl.col("pass_rate"),
            pl.col("difficulty"),
        ).alias("extra_info"),
    )
    table = to_arrow(df)
    atomic_write_parquet(out / "train.parquet", table)
    atomic_write_bytes(out / "cotforge_reward.py", VERL_REWARD_SHIM.encode())
    sources = ", ".join(f"`{x}`" for x in sorted(set(df["data_source"].to_list()))) or "none"
    atomic_write_bytes(out / "README.md", VERL_README.format(out=out, rows=table.num_rows, sources=sources).encode())
    return {"files": ["train.parquet", "cotforge_reward.py", "README.md"], "rows": table.num_rows}


VERL_REWARD_SHIM = '''"""verl custom reward for this cotforge export (needs cotforge installed where verl runs):
custom_reward_function.path=<this file> custom_reward_function.name=compute_score"""

from curation.export.verl_reward import compute_score  # noqa: F401
'''

VERL_README = """# verl files (cotforge export)

`train.parquet`: {rows} prompts (data_source, prompt, ability, reward_model {{style: rule, ground_truth}},
extra_info {{split, index, query_id, source_id, domain, pass_rate, difficulty}}).

`data_source` holds this run's source names ({sources}), which verl's default reward does not know: training with
the default reward stops with NotImplementedError. Use the reward shipped here, backed by cotforge's verifiers
(math: final answer vs reference; code: the last fenced code block against the tests, in cotforge's sandbox):

    data.train_files={out}/train.parquet
    custom_reward_function.path={out}/cotforge_reward.py
    custom_reward_function.name=compute_score

`cotforge_reward.py` imports `curation.export.verl_reward`, so cotforge must be installed in verl's environment.
"""


LF_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
}


def _ndjson(df: pl.DataFrame, path: Path) -> None:
    atomic_write_bytes(path, df.write_ndjson().encode("utf-8") if df.height else b"")


def write_llamafactory(f: ExportFrames, out: Path, positives_only: bool, name: str) -> dict[str, Any]:
    """sharegpt-style (OpenAI role/content tags) JSONL files + dataset_info.json entries."""
    sft = sft_rows(f, positives_only).select("messages")
    pref = preference_rows(f).select(
        pl.col("prompt").alias("messages"),
        pl.col("chosen").list.first().alias("chosen"),
        pl.col("rejected").list.first().alias("rejected"),
    )
    info: dict[str, Any] = {}
    files = []
    _ndjson(sft, out / f"{name}_sft.jsonl")
    files.append(f"{name}_sft.jsonl")
    info[f"{name}_sft"] = {
        "file_name": f"{name}_sft.jsonl",
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": dict(LF_TAGS),
    }
    if pref.height:
        _ndjson(pref, out / f"{name}_preference.jsonl")
        files.append(f"{name}_preference.jsonl")
        info[f"{name}_preference"] = {
            "file_name": f"{name}_preference.jsonl",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {"messages": "messages", "chosen": "chosen", "rejected": "rejected"},
            "tags": dict(LF_TAGS),
        }
    atomic_write_json(out / "dataset_info.json", info)
    return {"files": files + ["dataset_info.json"], "rows": sft.height, "preference_rows": pref.height}


OPENRLHF_README = """# OpenRLHF files (cotforge export)

No schema file: OpenRLHF takes the keys as flags. Rows: sft {sft}, preference {pref}, rl prompts {rl}.

One folder per kind: `json@FOLDER` loads every JSON file in the folder, so SFT, preference and RL rows must not
share one.

SFT (`openrlhf.cli.train_sft`):
    --dataset json@{out}/sft --input_key input --output_key output --apply_chat_template

Reward model / DPO (`openrlhf.cli.train_rm`, `openrlhf.cli.train_dpo`):
    --dataset json@{out}/preference --prompt_key prompt --chosen_key chosen --rejected_key rejected --apply_chat_template

RL with rule rewards (`openrlhf.cli.train_ppo_ray`):
    --prompt_data json@{out}/rl --input_key input --label_key label --apply_chat_template
    `label` is the reference answer (math) or the tests JSON (code) for your reward function.
"""


def write_openrlhf(f: ExportFrames, out: Path, positives_only: bool) -> dict[str, Any]:
    sft = sft_rows(f, positives_only).select(
        pl.col("problem").alias("input"),
        pl.col("messages").list.last().struct.field("content").alias("output"),
        "query_id",
        "teacher",
    )
    pref = preference_rows(f).select(
        pl.col("prompt").list.last().struct.field("content").alias("prompt"),
        pl.col("chosen").list.first().struct.field("content").alias("chosen"),
        pl.col("rejected").list.first().struct.field("content").alias("rejected"),
        "query_id",
    )
    rl = prompt_rows(f).select(pl.col("problem").alias("input"), pl.col("solution").alias("label"), "query_id")
    for stale in ("sft.jsonl", "preference.jsonl", "rl.jsonl"):  # the old one-folder layout of earlier exports
        (out / stale).unlink(missing_ok=True)
    files = []
    for kind, df in (("sft", sft), ("preference", pref), ("rl", rl)):
        (out / kind).mkdir(parents=True, exist_ok=True)
        _ndjson(df, out / kind / "train.jsonl")
        files.append(f"{kind}/train.jsonl")
    atomic_write_bytes(
        out / "README.md", OPENRLHF_README.format(out=out, sft=sft.height, pref=pref.height, rl=rl.height).encode()
    )
    return {"files": files + ["README.md"], "rows": sft.height, "preference_rows": pref.height, "rl_rows": rl.height}
