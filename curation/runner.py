"""Orders the stages, fingerprints config + inputs, skips finished stages, resumes killed ones, records stats.

A stage's fingerprint chains the previous stage's fingerprint with its own config and code version (derived from
the source it runs, `codeversion.py`), so changing one stage's config or code re-runs that stage and everything
after it, and nothing before it. Which stages exist, in which order, and how each is enabled, fingerprinted and
run is the registry's (`curation.stages`), not this module's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__, records
from .errors import UserError
from .manifest import Manifest
from .stage import StageContext
from .stages import NAMES as STAGES
from .stages import REGISTRY
from .store import RunStore, file_fingerprint

TRACKED_PACKAGES = [
    "pyarrow",
    "polars",
    "duckdb",
    "datasets",
    "datasketch",
    "sympy",
    "sentence-transformers",
    "transformers",
    "torch",
    "vllm",
    "trl",
]


def input_fingerprints(manifest: Manifest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in manifest.sources:
        if s.path is not None:
            p = manifest.resolve(s.path)
            out[s.name] = file_fingerprint(p) if p.exists() else {"path": str(p), "missing": True}
        elif s.memory is not None:
            out[s.name] = {"memory": s.memory.fingerprint}
        else:
            out[s.name] = {"hf": s.hf.model_dump(mode="json", exclude={"token"}) if s.hf else None}
    return out


def package_versions() -> dict[str, str]:
    versions = {"cotforge": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return versions


def _hash(*parts: Any) -> str:
    return hashlib.sha256(records.canonical_json(list(parts)).encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _table_stats(store: RunStore, stage: str) -> dict[str, Any]:
    counts = {t: store.count(stage, t) for t in store.tables(stage)}
    by_reason: dict[str, int] = {}
    if counts.get("removed"):
        removed = store.read(stage, "removed", records.REMOVED)
        for row in removed.group_by("reason").aggregate([("reason", "count")]).to_pylist():
            by_reason[row["reason"]] = row["reason_count"]
    return {"rows": counts, "removed_by_reason": by_reason}


class Runner:
    def __init__(self, manifest: Manifest, run_dir: Path | str | None = None, options: dict[str, Any] | None = None):
        self.manifest = manifest
        self.store = RunStore(run_dir or manifest.default_run_dir())
        self.options = options or {}
        self._executor: Any = None

    def plan(self) -> list[tuple[str, bool, str]]:
        """(stage, enabled, fingerprint) in order."""
        plan, prev = [], _hash("cotforge-run")
        inputs = input_fingerprints(self.manifest)
        for name, stage in REGISTRY.items():
            enabled = stage.enabled(self.manifest)
            extra = inputs if name == "collect" else None
            fp = _hash(prev, name, enabled, stage.code_version(), stage.fingerprint_config(self.manifest), extra)
            plan.append((name, enabled, fp))
            prev = fp
        return plan

    def run(self, until: str | None = None, fresh: bool = False) -> dict[str, Any]:
        if until is not None and until not in STAGES:
            raise UserError(f"--until {until!r}: unknown stage; stages are: {', '.join(STAGES)}")
        try:
            return self._run(until, fresh)
        finally:
            if self._executor is not None:
                self._executor.close()
                self._executor = None

    def executor(self) -> Any:
        """The run's executor, started on first use (a stage with no batch work never starts Ray)."""
        if self._executor is None:
            from .executors import create

            self._executor = create(self.options.get("executor") or self.manifest.executor)
        return self._executor

    def _run(self, until: str | None, fresh: bool) -> dict[str, Any]:
        store = self.store
        store.root.mkdir(parents=True, exist_ok=True)
        if fresh:
            for name in STAGES:
                store.reset_stage(name, keep_cache=False)
            store.lock_path.unlink(missing_ok=True)
        lock = store.read_lock()
        stages_lock: dict[str, Any] = lock.get("stages", {})
        lock.update(
            {
                "cotforge_version": __version__,
                "manifest_path": str(self.manifest.path) if self.manifest.path else None,
                "manifest": self.manifest.public_dict(),
                "inputs": input_fingerprints(self.manifest),
                "versions": package_versions(),
                "stages": stages_lock,
            }
        )
        done_upstream: list[str] = []
        invalidated = False
        for name, enabled, fp in self.plan():
            entry = stages_lock.get(name, {})
            if not enabled:
                if entry.get("status") not in (None, "disabled"):
                    store.reset_stage(name)
                stages_lock[name] = {"status": "disabled", "fingerprint": fp}
                store.write_lock(lock)
                if name == until:
                    break
                continue
            if not invalidated and entry.get("status") == "done" and entry.get("fingerprint") == fp:
                entry["cached"] = True
                done_upstream.append(name)
                if name == until:
                    break
                continue
            if entry.get("status") == "running" and entry.get("fingerprint") == fp and not invalidated:
                store.drop_unkeyed_parts(name)  # resume: keyed parts are complete, the rest is redone
                resumed = True
            else:
                store.reset_stage(name)
                resumed = False
            invalidated = True
            stages_lock[name] = entry = {"status": "running", "fingerprint": fp, "started": _now(), "resumed": resumed}
            store.write_lock(lock)
            ctx = StageContext(
                name=name,
                manifest=self.manifest,
                config=REGISTRY[name].config(self.manifest),
                store=store,
                upstream=list(done_upstream),
                options=self.options,
                executor=self.executor,
                resources=REGISTRY[name].resources(self.manifest),
            )
            t0 = time.perf_counter()
            try:
                REGISTRY[name].run(ctx)
            except BaseException as e:
                entry.update({"status": "failed", "error": f"{type(e).__name__}: {e}"[:2000]})
                store.write_lock(lock)
                raise
            if not store.parts(name, "removed"):
                store.write_part(name, "removed", records.REMOVED.empty_table())
            entry.update(
                {
                    "status": "done",
                    "finished": _now(),
                    "seconds": round(time.perf_counter() - t0, 3),
                    **_table_stats(store, name),
                    "stats": ctx.stats,
                }
            )
            entry.pop("error", None)
            store.write_lock(lock)
            done_upstream.append(name)
            store.refresh_catalog([s for s in STAGES if s in done_upstream])
            if name == until:
                break
        if invalidated:
            # Later stages' outputs were built on replaced inputs: drop them so the catalog never mixes versions.
            names = [n for n, *_ in self.plan()]
            for name in names[names.index(done_upstream[-1]) + 1 :] if done_upstream else []:
                if stages_lock.get(name, {}).get("status") == "done" and name not in done_upstream:
                    store.reset_stage(name)
                    stages_lock[name] = {"status": "stale", "fingerprint": None}
        lock["finished"] = _now()
        store.write_lock(lock)
        store.refresh_catalog([s for s in STAGES if s in done_upstream])
        return lock


def run(
    manifest: Manifest,
    run_dir: Path | str | None = None,
    until: str | None = None,
    fresh: bool = False,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return Runner(manifest, run_dir, options).run(until=until, fresh=fresh)
