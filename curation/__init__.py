"""cotforge's pipeline: collect → dedup → decontaminate → distill → verify → segment → select → export."""

__version__ = "0.1.0"
