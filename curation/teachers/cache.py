"""Request cache: every answer is appended, as it arrives, to a sharded JSONL file under the stage's cache dir.

A killed run leaves at worst one partial last line per shard; loading skips it. On re-run, keys with a successful
answer are served from here and only missing or failed requests go to the teacher again. Lines are flushed one by
one so a SIGKILL loses only what the OS had not yet received. Each process appends to files of its own: the driver
to `requests-NN.jsonl`, an executor's worker (which calls `set_writer`) to `requests-NN-<writer>.jsonl`, because
appends from several processes to one file can interleave (on NFS, O_APPEND is not atomic); loading reads them all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from .base import Result

SHARDS = 16
_WRITER: str | None = None


def set_writer(name: str | None) -> None:
    """Name this process's cache files (an executor's worker: host and pid); None is the driver's plain names."""
    global _WRITER
    _WRITER = name


class RequestCache:
    def __init__(self, root: Path, shards: int = SHARDS):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.shards = shards
        self._ok: dict[str, dict[str, Any]] = {}
        self._failed: dict[str, dict[str, Any]] = {}
        self._files: dict[int, IO[str]] = {}
        self.corrupt_lines = 0
        self._load()

    def _shard(self, key: str) -> int:
        return int(key[:8], 16) % self.shards

    def _path(self, shard: int) -> Path:
        return self.root / (
            f"requests-{shard:02d}.jsonl" if _WRITER is None else f"requests-{shard:02d}-{_WRITER}.jsonl"
        )

    def _load(self) -> None:
        for p in sorted(self.root.glob("requests-*.jsonl")):
            with open(p, "r", encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        key = entry["key"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        self.corrupt_lines += 1  # a line cut by a kill: that request is simply asked again
                        continue
                    if entry.get("error_kind") is None:
                        self._ok[key] = entry
                        self._failed.pop(key, None)
                    elif key not in self._ok:
                        self._failed[key] = entry

    def get(self, key: str) -> Result | None:
        entry = self._ok.get(key)
        return Result.from_json(entry) if entry is not None else None

    def __contains__(self, key: str) -> bool:
        return key in self._ok

    def __len__(self) -> int:
        return len(self._ok)

    def previously_failed(self, key: str) -> bool:
        return key in self._failed

    def put(self, result: Result) -> None:
        entry = result.to_json()
        shard = self._shard(result.key)
        f = self._files.get(shard)
        if f is None:
            path = self._path(shard)
            # A kill can leave a partial last line without "\n": start on a fresh line so the next entry parses.
            needs_nl = path.exists() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
            f = self._files[shard] = open(path, "a", encoding="utf-8")  # noqa: SIM115 — kept open: one append stream per shard
            if needs_nl:
                f.write("\n")
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        f.flush()
        if result.ok:
            self._ok[result.key] = entry
            self._failed.pop(result.key, None)
        else:
            self._failed[result.key] = entry

    def sync(self) -> None:
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def __enter__(self) -> RequestCache:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)
