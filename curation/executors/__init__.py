"""Executors: who runs a stage's per-batch function over its upstream table.

A stage that works batch by batch hands `ctx.map_batches` a *batch function* and never learns who calls it. The
contract of a batch function (`BatchFn`):
- `fn(chunk: pa.Table) -> pa.Table | None`: pure over its batch; None writes nothing (the batch is redone on the
  next run, e.g. a remote judge did not answer);
- optional `setup()`: called once per worker before its first batch (load a model, start a verifier pool), so
  the object itself stays small and picklable until then;
- optional `take_stats() -> dict[str, int]`: counters since the last call, summed over batches and workers;
- optional `ordered = True`: batches depend on the ones before them (a budget spent in row order), so they run
  one after another in the driver whatever the executor;
- optional `max_workers`: an upper bound on parallel workers (e.g. a rate-limited service).

`local` runs batches in the calling process, in order (the stages' own worker pools do the parallel work);
`ray` runs them as Ray Data `map_batches` over actors placed with the stage's declared resources, each actor
reading its rows from the upstream parquet parts and writing its keyed part itself. Both write the same keyed
parts `{batch:06d}`, so a run resumes under either executor, and the tables are identical.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

import pyarrow as pa

from ..errors import UserError

if TYPE_CHECKING:
    from ..config.executor import ExecutorConfig
    from ..stage import StageContext
    from ..stages import Resources

EXECUTORS = ("local", "ray")

BatchFn = Callable[[pa.Table], "pa.Table | None"]


class Executor(Protocol):
    name: str

    def map_batches(
        self,
        ctx: StageContext,
        table: str,
        fn: BatchFn,
        batch_size: int,
        *,
        schema: pa.Schema | None,
        out: str,
        description: str,
        resources: Resources,
    ) -> dict[str, int]: ...

    def close(self) -> None: ...


def create(cfg: ExecutorConfig | None) -> Executor:
    """The executor a manifest's `executor:` section (or the CLI's `--executor`) names."""
    kind = "local" if cfg is None else cfg.kind
    if kind == "local":
        from .local import LocalExecutor

        return LocalExecutor()
    if kind == "ray":
        from .ray import RayExecutor

        return RayExecutor(cfg)
    raise UserError(f"executor {kind!r}: unknown; executors are: {', '.join(EXECUTORS)}")


def setup(fn: Any) -> None:
    if hasattr(fn, "setup"):
        fn.setup()


def take_stats(fn: Any) -> dict[str, int]:
    return dict(fn.take_stats()) if hasattr(fn, "take_stats") else {}


def new_counts() -> dict[str, int]:
    """What `map_batches` returns under any executor (plus the batch function's own counters)."""
    return {"batches": 0, "skipped": 0, "written": 0, "not_written": 0, "not_written_rows": 0}


def add_stats(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + int(v)
