"""Shared fixtures: skip (with the reason) where the host lacks a layer; a fork-server per module."""

from __future__ import annotations

import os
import uuid

import pytest

import sandboxes
from sandboxes.isolation import detect

ISO = detect()


def skip_unless(*layers: str):
    missing = [f"{x} ({ISO.missing.get(x, 'inactive')})" for x in layers if not ISO.has(x)]
    return pytest.mark.skipif(bool(missing), reason="sandbox layer missing on this host: " + "; ".join(missing))


@pytest.fixture(scope="module")
def forkserver():
    if not ISO.has("bwrap"):
        pytest.skip("fork-server needs bubblewrap (apt-get install -y bubblewrap)")
    fs = sandboxes.ForkServer()
    yield fs
    fs.close()


@pytest.fixture(params=["sandbox", "forkserver"])
def backend(request):
    if request.param == "sandbox":
        return None
    return request.getfixturevalue("forkserver")


@pytest.fixture
def marker():
    return "cfmark" + uuid.uuid4().hex[:12]


def processes_with(marker: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out
