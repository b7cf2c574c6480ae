"""Typed manifest sections, one module per section; `curation.manifest` composes them."""
