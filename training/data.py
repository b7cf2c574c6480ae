"""Load training data from exported files or a hub dataset, and check it has the columns a trainer needs.

Training reads what `cotforge export` writes (or any dataset with the same columns), never a run directory: the
exports are the contract between curation and training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.errors import UserError

_EXTS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".gz": "json"}

# What each trainer accepts, as (required columns, name of the export that writes them).
FORMATS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "sft": [(("messages",), "trl-sft"), (("prompt", "completion"), "prompt-completion"), (("text",), "plain text")],
    "redi": [(("prompt", "chosen", "rejected"), "trl-preference"), (("chosen", "rejected"), "implicit-prompt pairs")],
    "rl": [(("prompt", "solution"), "trl-prompt"), (("prompt", "tests"), "trl-prompt (code)")],
}
EXPORT_HINT = {"sft": "trl-sft", "redi": "trl-preference", "rl": "trl-prompt"}


def _files(folder: Path, split: str) -> tuple[str, list[str]]:
    """The data files of an export folder: those of `split` (train.parquet, train-00000-of-00002.parquet, …) when the
    folder names splits, else all of them."""
    for builder, pats in (("parquet", ("*.parquet",)), ("json", ("*.jsonl", "*.jsonl.gz", "*.json"))):
        found = sorted(
            p for pat in pats for p in folder.rglob(pat) if p.name not in ("dataset_info.json", "dataset_infos.json")
        )
        if found:
            of_split = [p for p in found if p.name.split(".")[0].split("-")[0] == split]
            return builder, [str(p) for p in (of_split or found)]
    raise UserError(
        f"data: no .parquet or .jsonl files under {folder} (point data.path at an export folder such as "
        "<run>/export/trl-sft, a file, or a hub dataset id)"
    )


def load_rows(path: str, split: str = "train", name: str | None = None, limit: int | None = None) -> Any:
    """A `datasets.Dataset` from a file, an export folder or a hub id."""
    import datasets

    p = Path(path)
    try:
        if p.is_dir():
            builder, files = _files(p, split)
            ds = datasets.load_dataset(builder, data_files=files, split="train")
        elif p.exists():
            ext = ".gz" if p.name.endswith(".gz") else p.suffix
            if ext not in _EXTS:
                raise UserError(f"data: {p}: unsupported file type {p.suffix!r} (use .jsonl, .json or .parquet)")
            ds = datasets.load_dataset(_EXTS[ext], data_files=str(p), split="train")
        elif path.startswith(("/", ".", "~")) or p.suffix:
            raise UserError(f"data: {path}: no such file or folder")
        else:
            ds = datasets.load_dataset(path, name, split=split)
    except UserError:
        raise
    except Exception as e:  # datasets raises many types (connection, schema, missing split)
        raise UserError(f"data: cannot load {path!r}: {type(e).__name__}: {e}") from e
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    if len(ds) == 0:
        raise UserError(f"data: {path} has no rows")
    return ds


def check_columns(ds: Any, kind: str, path: str) -> tuple[str, ...]:
    """The accepted format the data matches; otherwise say what was found and what each trainer expects."""
    cols = set(ds.column_names)
    for required, _ in FORMATS[kind]:
        if set(required) <= cols:
            return required
    expected = "; or ".join(f"{' + '.join(r)} ({label})" for r, label in FORMATS[kind])
    raise UserError(
        f"data: {path}: columns {sorted(cols)} do not fit `cotforge train {kind}`, which expects {expected}. "
        f"Write them with `cotforge export RUN_DIR --format {EXPORT_HINT[kind]} --out DIR`."
    )


def load_for(kind: str, path: str, split: str = "train", name: str | None = None, limit: int | None = None) -> Any:
    ds = load_rows(path, split, name, limit)
    check_columns(ds, kind, path)
    return ds
