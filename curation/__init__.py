"""cotforge's pipeline: collect → dedup → decontaminate → distill → verify → segment → select → export.

Python API: `from curation import Pipeline, Run` (see curation.api); imported lazily so the CLI starts fast.
"""

__version__ = "0.1.0"

__all__ = ["Pipeline", "Run", "__version__"]


def __getattr__(name: str):
    if name in ("Pipeline", "Run"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'curation' has no attribute {name!r}")
