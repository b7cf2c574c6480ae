"""Publish an `hf` export folder to the Hugging Face Hub (huggingface_hub's HTTP API).

- Token: from the caller, else huggingface_hub's own lookup (HF_TOKEN env or `hf auth login`); it is only ever
  passed to huggingface_hub, never logged or written.
- Resumable: files go up in several commits of bounded size; re-running after an interruption re-sends nothing
  that is already on the Hub (huggingface_hub drops files whose remote oid matches, reported by `preupload`).
- Retries: each Hub call is retried on 429 / 5xx / connection errors with exponential backoff and jitter
  (Retry-After honoured).
- Card: an existing README.md on the Hub is merged, not overwritten (`card.merge_cards`); it goes up last, so the
  card never advertises configs whose data is not there yet.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UserError
from .card import merge_cards

T = TypeVar("T")
RETRY_STATUS = (429, 500, 502, 503, 504)
SKIP_NAMES = {".gitattributes"}


@dataclass
class PushResult:
    repo_id: str
    url: str
    commits: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    retries: int = 0
    card_merged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _status(e: BaseException) -> int | None:
    resp = getattr(e, "response", None)
    return getattr(resp, "status_code", None)


def _transient(e: BaseException) -> bool:
    import httpx
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(e, HfHubHTTPError):
        return _status(e) in RETRY_STATUS
    return isinstance(e, (httpx.TransportError, ConnectionError, TimeoutError))


def with_retries(
    fn: Callable[[], T],
    what: str,
    *,
    max_retries: int,
    base_wait: float,
    max_wait: float = 60.0,
    on_retry: Callable[[str, BaseException, float], None] | None = None,
) -> T:
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:
            if not _transient(e) or attempt >= max_retries:
                raise
            resp = getattr(e, "response", None)
            retry_after = None
            if resp is not None:
                try:
                    retry_after = float(resp.headers.get("Retry-After"))
                except (TypeError, ValueError):
                    retry_after = None
            wait = retry_after if retry_after is not None else min(max_wait, base_wait * 2**attempt)
            wait = min(max_wait, wait) * (1 + 0.25 * random.random())
            if on_retry:
                on_retry(what, e, wait)
            time.sleep(wait)
            attempt += 1


def plan_files(folder: Path, configs: list[str] | None = None) -> list[Path]:
    """Files of the export to upload (README.md excluded: it is merged and sent last)."""
    if not (folder / "data").is_dir():
        raise UserError(
            f"{folder}: no data/ folder; push expects an `hf` export (`cotforge export RUN_DIR --format hf --out DIR`)"
        )
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts) or rel.name in SKIP_NAMES:
            continue
        if rel.as_posix() == "README.md":
            continue
        if configs and rel.parts[0] == "data" and len(rel.parts) > 2 and rel.parts[1] not in configs:
            continue
        files.append(p)
    if configs:
        have = {p.relative_to(folder).parts[1] for p in files if p.relative_to(folder).parts[0] == "data"}
        missing = [c for c in configs if c not in have]
        if missing:
            raise UserError(f"--config {', '.join(missing)}: not in {folder}/data (have: {', '.join(sorted(have))})")
    return files


def batches(files: list[Path], max_files: int, max_bytes: int) -> list[list[Path]]:
    out: list[list[Path]] = []
    cur: list[Path] = []
    size = 0
    for p in files:
        s = p.stat().st_size
        if cur and (len(cur) >= max_files or size + s > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(p)
        size += s
    if cur:
        out.append(cur)
    return out


def push_folder(
    folder: Path | str,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    revision: str | None = None,
    configs: list[str] | None = None,
    commit_max_files: int = 100,
    commit_max_mb: int = 2048,
    max_retries: int = 6,
    base_wait: float = 2.0,
    log: Callable[[str], None] | None = None,
) -> PushResult:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    folder = Path(folder)
    if "/" not in repo_id or repo_id.count("/") != 1:
        raise UserError(f"--repo-id {repo_id!r}: expected ORG/NAME (e.g. my-org/my-dataset)")
    card_path = folder / "README.md"
    if not card_path.exists():
        raise UserError(f"{folder}: no README.md (dataset card); re-run `cotforge export --format hf`")
    files = plan_files(folder, configs)
    say = log or (lambda m: None)
    result = PushResult(repo_id=repo_id, url="")

    def retry(what: str, fn: Callable[[], T]) -> T:
        def note(w: str, e: BaseException, wait: float) -> None:
            result.retries += 1
            say(f"{w}: {type(e).__name__} (HTTP {_status(e)}), retrying in {wait:.1f}s")

        return with_retries(fn, what, max_retries=max_retries, base_wait=base_wait, on_retry=note)

    api = HfApi(endpoint=endpoint, token=token)
    url = retry("create repo", lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True))
    result.url = str(url)

    # existing card → merge (never overwrite metadata blindly)
    existing = None
    with tempfile.TemporaryDirectory(prefix="cotforge-card-") as tmp:
        try:
            path = retry(
                "read card",
                lambda: api.hf_hub_download(
                    repo_id, "README.md", repo_type="dataset", revision=revision, cache_dir=tmp
                ),
            )
            existing = Path(path).read_text(encoding="utf-8")
        except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
            existing = None
    card = card_path.read_text(encoding="utf-8").replace("ORG/NAME", repo_id)
    merged = merge_cards(existing, card)
    result.card_merged = existing is not None

    groups = batches(files, commit_max_files, commit_max_mb << 20)
    for i, group in enumerate(groups, 1):
        rels = [p.relative_to(folder).as_posix() for p in group]
        msg = f"cotforge push: {len(rels)} files (batch {i}/{len(groups)})"

        def commit(group=group, rels=rels, msg=msg):
            ops = [CommitOperationAdd(path_in_repo=r, path_or_fileobj=str(p)) for r, p in zip(rels, group)]
            return api.create_commit(repo_id, ops, commit_message=msg, repo_type="dataset", revision=revision)

        info = retry(f"commit batch {i}/{len(groups)}", commit)
        result.commits.append(getattr(info, "oid", None) or "")
        result.files.extend(rels)
        say(f"batch {i}/{len(groups)}: {len(rels)} files")

    def commit_card():
        op = CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=merged.encode("utf-8"))
        return api.create_commit(
            repo_id, [op], commit_message="cotforge push: dataset card", repo_type="dataset", revision=revision
        )

    info = retry("commit card", commit_card)
    result.commits.append(getattr(info, "oid", None) or "")
    result.files.append("README.md")
    return result
