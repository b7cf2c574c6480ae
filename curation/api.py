"""The Python API: build or load a pipeline, run it, read its tables as polars frames or `datasets.Dataset`.

The CLI (`cotforge run | inspect`) is a thin layer over this module, so a notebook and a shell see the same
runs, the same resume behaviour and the same summaries::

    from curation import Pipeline
    run = Pipeline.from_dict({"name": "mine", "sources": [{"name": "q", "kind": "memory"}], "dedup": {}},
                             sources={"q": df}).run("runs/mine", until="dedup")
    run.polars("queries"); run.dataset("queries"); run.removed()
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from . import manifest as manifest_mod
from .config.executor import ExecutorConfig
from .errors import ManifestError, UserError
from .manifest import Manifest
from .runner import STAGES, Runner
from .sources.memory import attach
from .stages import REGISTRY
from .store import RunStore


class Pipeline:
    """A validated manifest, ready to run. Build it with `from_yaml` or `from_dict`."""

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    # --- building ----------------------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: Path | str, sources: Mapping[str, Any] | None = None) -> Pipeline:
        """Load a manifest file; `sources` gives the rows of its `kind: memory` sources by name."""
        m = manifest_mod.load(path)
        _attach_memory(m, dict(sources or {}), {}, str(path))
        return cls(m)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base_dir: Path | str | None = None, sources: Mapping[str, Any] | None = None
    ) -> Pipeline:
        """Build from a dict shaped like the manifest YAML. Relative paths resolve against `base_dir` (default:
        the current directory). A `kind: memory` source takes its rows from its own `data:` key or from
        `sources={name: data}` (polars/pandas DataFrame, datasets.Dataset, pyarrow.Table, list of dicts)."""
        if not isinstance(data, Mapping):
            raise ManifestError(f"<dict>: a manifest is a mapping (name:, sources:, …), got {type(data).__name__}")
        data = dict(data)
        inline: dict[str, Any] = {}
        entries = data.get("sources")
        if isinstance(entries, list):
            cleaned = []
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping) and "data" in entry:
                    entry = dict(entry)
                    rows = entry.pop("data")
                    if entry.get("kind") != "memory":
                        raise ManifestError(
                            f"<dict>: sources[{i}].data: only `kind: memory` sources take rows "
                            f"(this one is kind {entry.get('kind')!r})"
                        )
                    inline[str(entry.get("name"))] = rows
                cleaned.append(entry)
            data["sources"] = cleaned
        data = copy.deepcopy(data)  # the rows were taken out above; the rest is plain config
        try:
            m = Manifest.model_validate(data)
        except ValidationError as e:
            raise ManifestError(manifest_mod.format_validation_error(e, "<dict>", None)) from None
        m._base_dir = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
        m._path = None
        manifest_mod._check_files(m, Path("<dict>"))
        _attach_memory(m, dict(sources or {}), inline, "<dict>")
        return cls(m)

    # --- looking -----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name

    def stages(self) -> list[str]:
        """The stages this manifest turns on, in run order."""
        return [n for n, s in REGISTRY.items() if s.enabled(self.manifest)]

    def to_dict(self) -> dict[str, Any]:
        """The resolved manifest as lock.json stores it (memory sources as fingerprints, secrets as references)."""
        return self.manifest.public_dict()

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, sources={[s.name for s in self.manifest.sources]}, stages={self.stages()})"

    # --- running -----------------------------------------------------------------------------------------
    def run(
        self,
        run_dir: Path | str | None = None,
        until: str | None = None,
        fresh: bool = False,
        fail_fast: bool = False,
        executor: str | Mapping[str, Any] | None = None,
        quiet: bool = False,
    ) -> Run:
        """Run (or resume) into `run_dir` (default: the manifest's run_dir or runs/<name>); finished stages whose
        fingerprint is unchanged are skipped. `executor` overrides the manifest's `executor:` section: "local",
        "ray", or the section as a dict (`{"kind": "ray", "address": "auto"}`). Returns the `Run`."""
        options: dict[str, Any] = {"fail_fast": fail_fast, "quiet": quiet}
        if executor is not None:
            options["executor"] = executor_config(executor)
        runner = Runner(self.manifest, run_dir, options=options)
        lock = runner.run(until=until, fresh=fresh)
        return Run(runner.store.root, _lock=lock)


def executor_config(executor: str | Mapping[str, Any]) -> ExecutorConfig:
    """An `executor:` section from a name or a dict, with the manifest's own error messages."""
    spec = {"kind": executor} if isinstance(executor, str) else dict(executor)
    try:
        return ExecutorConfig.model_validate(spec)
    except ValidationError as e:
        raise UserError(
            manifest_mod.format_validation_error(e, "executor", None, ExecutorConfig, what="executor")
        ) from None


def _attach_memory(m: Manifest, given: dict[str, Any], inline: dict[str, Any], where: str) -> None:
    memory = [s for s in m.sources if s.kind == "memory"]
    names = {s.name for s in memory}
    unknown = [n for n in given if n not in names]
    if unknown:
        raise ManifestError(
            f"{where}: sources={{…}} names {unknown} but the manifest's memory sources are "
            f"{sorted(names) or 'none'}; add `{{name: {unknown[0]}, kind: memory}}` to `sources:`"
        )
    for s in memory:
        if s.name in given and s.name in inline:
            raise ManifestError(
                f"{where}: source {s.name!r} has rows both in its `data:` key and in sources=; give them once"
            )
        rows = given.get(s.name, inline.get(s.name))
        if rows is None:
            raise ManifestError(
                f"{where}: source {s.name!r} is kind 'memory' but no rows were given; memory sources "
                "are for the Python API: pass Pipeline.from_yaml/from_dict(..., "
                f"sources={{{s.name!r}: data}}) with a DataFrame, datasets.Dataset, pyarrow.Table …"
            )
        attach(s, rows)


class Run:
    """A run directory: its lock (what ran, fingerprints, counts) and its tables.

    Table names follow the catalog: `queries`, `traces`, `pairs`… are the latest stage's version, `<stage>_<table>`
    a given stage's, and `removed` the union of every stage's removed rows."""

    def __init__(self, run_dir: Path | str, _lock: dict[str, Any] | None = None):
        self.run_dir = Path(run_dir)
        self.store = RunStore(self.run_dir)
        if _lock is None and not self.store.read_lock():
            raise UserError(f"{run_dir}: no lock.json here; is this a run directory? (made by `cotforge run`)")

    @property
    def lock(self) -> dict[str, Any]:
        """lock.json as it is now on disk."""
        return self.store.read_lock()

    @property
    def catalog_path(self) -> Path:
        return self.store.catalog_path

    def summary(self) -> dict[str, Any]:
        """Per-stage status, row counts, removals by reason and seconds (what `cotforge inspect --json` prints)."""
        return {"run_dir": str(self.run_dir), "stages": summary_rows(self.lock)}

    def __repr__(self) -> str:
        done = [n for n, e in self.lock.get("stages", {}).items() if e.get("status") == "done"]
        return f"Run({str(self.run_dir)!r}, done={done})"

    # --- tables ------------------------------------------------------------------------------------------
    def _done_stages(self) -> list[str]:
        stages = self.lock.get("stages", {})
        return [s for s in STAGES if stages.get(s, {}).get("status") == "done"]

    def _sources(self) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        removed: list[Path] = []
        for stage in self._done_stages():
            for table in self.store.tables(stage):
                parts = self.store.parts(stage, table)
                if not parts:
                    continue
                out[f"{stage}_{table}"] = parts
                if table == "removed":
                    removed += parts
                else:
                    out[table] = parts  # later stages overwrite: the bare name is the latest version
        if removed:
            out["removed"] = removed
        return out

    def tables(self) -> list[str]:
        """Names readable with `polars`, `lazy`, `arrow` and `dataset`."""
        return sorted(self._sources())

    def _parts(self, table: str) -> list[Path]:
        sources = self._sources()
        if table not in sources:
            raise UserError(
                f"{self.run_dir}: no table {table!r} (finished stages wrote: "
                f"{', '.join(sorted(sources)) or 'nothing yet'})"
            )
        return sources[table]

    def lazy(self, table: str):
        """A polars LazyFrame over the table's parquet parts (nothing read until `.collect()`)."""
        import polars as pl

        return pl.concat([pl.scan_parquet(p) for p in self._parts(table)], how="diagonal_relaxed")

    def polars(self, table: str):
        """The table as a polars DataFrame."""
        return self.lazy(table).collect()

    def arrow(self, table: str):
        """The table as a pyarrow Table, with the types the stages wrote."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pa.concat_tables([pq.read_table(p) for p in self._parts(table)], promote_options="permissive")

    def dataset(self, table: str):
        """The table as an in-memory `datasets.Dataset` (no cache files are written)."""
        import datasets

        return datasets.Dataset(self.arrow(table))

    def removed(self, stage: str | None = None, reason: str | None = None):
        """Removed rows (every stage, or one), optionally of one reason, as a polars DataFrame."""
        import polars as pl

        df = self.polars(f"{stage}_removed" if stage else "removed")
        return df.filter(pl.col("reason") == reason) if reason is not None else df

    def sql(self, query: str):
        """A SQL query over the DuckDB catalog (the same views `cotforge` users query), as a polars DataFrame."""
        import duckdb

        con = duckdb.connect(str(self.catalog_path), read_only=True)
        try:
            return con.sql(query).pl()
        finally:
            con.close()

    # --- after the run -----------------------------------------------------------------------------------
    def export(
        self,
        formats: list[str] | str,
        out: Path | str,
        card: dict[str, Any] | None = None,
        max_shard_mb: int = 300,
        **filters: Any,
    ) -> dict[str, Any]:
        """Export for trainers (`cotforge export`): formats as in the CLI, filters as `ExportFilters` fields
        (positives_only, min_tokens, teachers, reasoning, …)."""
        from .config.export import FORMATS, CardConfig, ExportFilters
        from .export import export_run

        formats = [formats] if isinstance(formats, str) else list(formats)
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise UserError(f"formats {', '.join(bad)}: unknown; formats are: {', '.join(FORMATS)}")
        try:
            f = ExportFilters(**filters)
            c = CardConfig(**(card or {}))
        except ValidationError as e:
            msgs = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'filters'}: {x['msg']}" for x in e.errors())
            raise UserError(f"export: {msgs}") from None
        return export_run(self.run_dir, formats, out, f, c, max_shard_mb)

    def audit(self, out: Path | str | None = None, **options: Any) -> dict[str, Any]:
        """Per-teacher audit (`cotforge audit`); options are `AuditOptions` fields. Returns audit.json's content."""
        from .audit import AuditOptions, run_audit

        return run_audit(self.run_dir, out, AuditOptions(**options))


def summary_rows(lock: dict) -> list[dict]:
    """One row per stage in lock.json: status, cached, seconds, output counts, removals (total and by reason)."""
    rows = []
    for name, entry in lock.get("stages", {}).items():
        counts = entry.get("rows", {})
        rows.append(
            {
                "stage": name,
                "status": entry.get("status"),
                "cached": bool(entry.get("cached")),
                "seconds": entry.get("seconds"),
                "outputs": {k: v for k, v in counts.items() if k != "removed"},
                "removed": counts.get("removed", 0),
                "removed_by_reason": entry.get("removed_by_reason", {}),
            }
        )
    return rows
