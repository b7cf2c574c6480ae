"""`cotforge push` end to end against a local HTTP server that speaks the Hub endpoints huggingface_hub's upload
path calls (repo create, validate-yaml, preupload, commit, resolve for the existing card, revision info).

The server is a real http.server in a thread; it stores committed files, answers preupload with uploadMode
"regular" (no LFS) and the git-sha1 oid of files it already has (so huggingface_hub's no-op detection works, which
is what makes a re-run resume), and can inject failures. Nothing of ours is mocked.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).parents[1] / "rundir_factory.py")
rundir_factory = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("rundir_factory", rundir_factory)
_spec.loader.exec_module(rundir_factory)

TOKEN = "hf_TESTtokenNEVERwrittenANYWHERE0123456789"


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


class FakeHub:
    """In-memory Hub: repos → {path: bytes}; a log of requests; failures to inject."""

    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}
        self.private: dict[str, bool] = {}
        self.commits: list[dict] = []
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, authorization
        self.fail: list[dict] = []  # {"method", "pattern", "status", "times"}
        self.lock = threading.Lock()

    def maybe_fail(self, method: str, path: str) -> int | None:
        with self.lock:
            for f in self.fail:
                if f["method"] == method and re.search(f["pattern"], path) and f["times"] > 0:
                    f["times"] -= 1
                    return f["status"]
        return None


def make_handler(hub: FakeHub):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def _json(self, code: int, obj, headers: dict | None = None):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                return self.rfile.read(n)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return b""

        def _route(self, method: str):
            path = self.path.split("?")[0]
            hub.requests.append((method, path, self.headers.get("Authorization")))
            body = self._body() if method in ("POST", "PUT") else b""
            status = hub.maybe_fail(method, path)
            if status is not None:
                return self._json(status, {"error": f"injected {status}"}, {"Retry-After": "0"})
            if method == "POST" and path == "/api/repos/create":
                p = json.loads(body)
                rid = f"{p['organization']}/{p['name']}"
                assert p.get("type") == "dataset", p
                if rid in hub.repos:
                    return self._json(
                        409,
                        {
                            "error": "You already created this dataset repo",
                            "url": f"http://{self.headers['Host']}/datasets/{rid}",
                        },
                    )
                hub.repos[rid] = {}
                hub.private[rid] = p.get("visibility") == "private" or bool(p.get("private"))
                return self._json(200, {"url": f"http://{self.headers['Host']}/datasets/{rid}", "name": rid})
            if method == "POST" and path == "/api/validate-yaml":
                return self._json(200, {"errors": [], "warnings": []})
            m = re.match(r"^/api/datasets/([^/]+/[^/]+)/(preupload|commit|revision)/([^/]+)$", path)
            if m:
                rid, kind, _rev = m.groups()
                if rid not in hub.repos:
                    return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                files = hub.repos[rid]
                if kind == "preupload":
                    req = json.loads(body)
                    return self._json(
                        200,
                        {
                            "files": [
                                {
                                    "path": f["path"],
                                    "uploadMode": "regular",
                                    "shouldIgnore": False,
                                    "oid": git_sha1(files[f["path"]]) if f["path"] in files else None,
                                }
                                for f in req["files"]
                            ]
                        },
                    )
                if kind == "commit":
                    lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                    header = lines[0]
                    assert header["key"] == "header"
                    added = {}
                    for item in lines[1:]:
                        assert item["key"] == "file", f"unexpected commit op {item['key']} (LFS not offered)"
                        v = item["value"]
                        assert v["encoding"] == "base64"
                        added[v["path"]] = base64.b64decode(v["content"])
                    files.update(added)
                    oid = hashlib.sha1(json.dumps(sorted(added)).encode() + str(len(hub.commits)).encode()).hexdigest()
                    hub.commits.append({"repo": rid, "summary": header["value"]["summary"], "files": sorted(added)})
                    return self._json(
                        200,
                        {
                            "commitUrl": f"http://{self.headers['Host']}/datasets/{rid}/commit/{oid}",
                            "commitOid": oid,
                            "pullRequestUrl": None,
                        },
                    )
                sha = hashlib.sha1(str(len(hub.commits)).encode()).hexdigest()
                return self._json(
                    200,
                    {
                        "id": rid,
                        "sha": sha,
                        "private": hub.private[rid],
                        "siblings": [{"rfilename": k} for k in sorted(files)],
                    },
                )
            m = re.match(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if m and method in ("GET", "HEAD"):
                rid, _rev, fpath = m.groups()
                if rid not in hub.repos:
                    return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                data = hub.repos[rid].get(fpath)
                if data is None:
                    return self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                etag = git_sha1(data)
                commit = hashlib.sha1(str(len(hub.commits)).encode()).hexdigest()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Repo-Commit", commit)
                self.end_headers()
                if method == "GET":
                    self.wfile.write(data)
                return None
            return self._json(404, {"error": f"no route {method} {path}"})

        def do_GET(self):
            self._route("GET")

        def do_HEAD(self):
            self._route("HEAD")

        def do_POST(self):
            self._route("POST")

        def do_PUT(self):
            self._route("PUT")

    return H


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients closing keep-alive sockets are not errors here
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    fake = FakeHub()
    server = QuietServer(("127.0.0.1", 0), make_handler(fake))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no token file of this machine is read
    fake.endpoint = endpoint
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    from curation.export import export_run

    root = tmp_path_factory.mktemp("push")
    store = rundir_factory.build_run(root / "run")
    export_run(store.root, ["hf"], root / "hf")
    return store.root, root / "hf"


def _local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_push_sends_exact_files_with_env_token(hub, export_dir):
    from curation.export.push import push_folder

    _, folder = export_dir
    res = push_folder(folder, "my-org/demo", private=True, endpoint=hub.endpoint, commit_max_files=2, base_wait=0.01)
    remote = hub.repos["my-org/demo"]
    local = _local_files(folder)
    # every data file and the lock arrive byte for byte; the card arrives with the repo id filled in
    assert set(remote) == set(local)
    for path, data in local.items():
        if path != "README.md":
            assert remote[path] == data, path
    assert remote["README.md"].decode() == local["README.md"].decode().replace("ORG/NAME", "my-org/demo")
    assert hub.private["my-org/demo"] is True
    # multi-commit: at most 2 files per data commit, the card last
    data_commits = [c for c in hub.commits if c["files"] != ["README.md"]]
    assert all(len(c["files"]) <= 2 for c in data_commits) and len(data_commits) >= 3
    assert hub.commits[-1]["files"] == ["README.md"]
    assert res.files[-1] == "README.md" and len(res.commits) == len(hub.commits)
    # token: sent as a bearer header on write calls, never inside any uploaded file
    writes = [r for r in hub.requests if r[0] == "POST"]
    assert writes and all(r[2] == f"Bearer {TOKEN}" for r in writes)
    assert not any(TOKEN.encode() in data for data in remote.values())


def test_push_retries_429_and_5xx(hub, export_dir):
    from curation.export.push import push_folder

    _, folder = export_dir
    hub.fail = [
        {"method": "POST", "pattern": r"/api/repos/create$", "status": 503, "times": 1},
        {"method": "POST", "pattern": r"/commit/", "status": 429, "times": 1},
        {"method": "POST", "pattern": r"/commit/", "status": 502, "times": 1},
    ]
    res = push_folder(folder, "my-org/retry", endpoint=hub.endpoint, base_wait=0.01)
    assert res.retries >= 3
    assert set(hub.repos["my-org/retry"]) == set(_local_files(folder))
    assert all(f["times"] == 0 for f in hub.fail)


def test_push_resumes_without_resending_committed_files(hub, export_dir):
    from huggingface_hub.errors import HfHubHTTPError

    from curation.export.push import push_folder

    _, folder = export_dir
    # the 3rd data commit fails for good (more 500s than retries): the push stops part-way
    hub.fail = [{"method": "POST", "pattern": r"/commit/", "status": 500, "times": 0}]
    calls = {"n": 0}
    orig = hub.maybe_fail

    def fail_third_commit(method, path):
        if method == "POST" and "/commit/" in path:
            calls["n"] += 1
            if calls["n"] >= 3 and calls["n"] <= 5:
                return 500
        return orig(method, path)

    hub.maybe_fail = fail_third_commit
    with pytest.raises(HfHubHTTPError):
        push_folder(folder, "my-org/resume", endpoint=hub.endpoint, commit_max_files=1, max_retries=2, base_wait=0.01)
    first = [c for c in hub.commits if c["repo"] == "my-org/resume"]
    assert len(first) == 2 and "README.md" not in hub.repos["my-org/resume"]
    sent_before = {f for c in first for f in c["files"]}

    hub.maybe_fail = orig
    push_folder(folder, "my-org/resume", endpoint=hub.endpoint, commit_max_files=1, base_wait=0.01)
    second = [c for c in hub.commits if c["repo"] == "my-org/resume"][2:]
    resent = {f for c in second for f in c["files"]}
    assert not (resent & sent_before), f"re-sent already committed files: {resent & sent_before}"
    assert set(hub.repos["my-org/resume"]) == set(_local_files(folder))


def test_push_merges_existing_card(hub, export_dir):
    from huggingface_hub import DatasetCard

    from curation.export.push import push_folder

    _, folder = export_dir
    hub.repos["my-org/carded"] = {
        "README.md": (
            b"---\nlicense: apache-2.0\ntags:\n- handmade\nmy_key: keep me\nconfigs:\n- config_name: extra\n"
            b"  data_files:\n  - split: train\n    path: extra/*.parquet\n---\n\n# My dataset\n\nHand-written intro.\n"
        )
    }
    hub.private["my-org/carded"] = False
    res = push_folder(folder, "my-org/carded", endpoint=hub.endpoint, base_wait=0.01)
    assert res.card_merged
    card = DatasetCard(hub.repos["my-org/carded"]["README.md"].decode())
    meta = card.data.to_dict()
    assert meta["my_key"] == "keep me" and meta["license"] == "apache-2.0"
    assert "handmade" in meta["tags"] and "reasoning" in meta["tags"]
    names = [c["config_name"] for c in meta["configs"]]
    assert names[0] == "extra" and {"sft", "all"} <= set(names)
    assert "Hand-written intro." in card.text and "## Teachers" in card.text
    # pushing again replaces our generated block instead of appending a second one
    push_folder(folder, "my-org/carded", endpoint=hub.endpoint, base_wait=0.01)
    text = hub.repos["my-org/carded"]["README.md"].decode()
    assert text.count("## Teachers") == 1 and text.count("Hand-written intro.") == 1


def test_push_only_selected_configs(hub, export_dir):
    from curation.export.push import push_folder

    _, folder = export_dir
    push_folder(folder, "my-org/sub", endpoint=hub.endpoint, configs=["sft"], base_wait=0.01)
    paths = set(hub.repos["my-org/sub"])
    assert any(p.startswith("data/sft/") for p in paths)
    assert not any(p.startswith(("data/all/", "data/rl/", "data/preference/")) for p in paths)


def test_push_cli_end_to_end(hub, export_dir, tmp_path):
    from typer.testing import CliRunner

    from curation.cli import app

    run_dir, _ = export_dir
    r = CliRunner().invoke(
        app, ["push", str(run_dir), "--repo-id", "my-org/cli", "--endpoint", hub.endpoint, "--config", "sft,all"]
    )
    assert r.exit_code == 0, r.output
    paths = set(hub.repos["my-org/cli"])
    assert "README.md" in paths and "cotforge_lock.json" in paths
    assert any(p.startswith("data/sft/train-") for p in paths) and not any(p.startswith("data/rl/") for p in paths)
    card = hub.repos["my-org/cli"]["README.md"].decode()
    assert 'load_dataset("my-org/cli", "sft"' in card
    assert TOKEN not in r.output and TOKEN not in card


def test_push_rejects_bad_repo_id_and_non_hf_folder(tmp_path):
    from curation.errors import UserError
    from curation.export.push import push_folder

    with pytest.raises(UserError, match="ORG/NAME"):
        push_folder(tmp_path, "noslash")
    (tmp_path / "README.md").write_text("x")
    with pytest.raises(UserError, match="no data/ folder"):
        push_folder(tmp_path, "a/b")
