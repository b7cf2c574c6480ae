from curation import manifest_doc

from .spine_helpers import REPO


def test_committed_manifest_reference_is_current():
    committed = (REPO / "docs" / "manifest.md").read_text()
    assert committed.strip() == manifest_doc.render().strip(), (
        "docs/manifest.md is stale: run `python -m curation.manifest_doc > docs/manifest.md`"
    )


def test_reference_lists_every_section():
    text = manifest_doc.render()
    for section in (
        "sources",
        "collect",
        "dedup",
        "decontaminate",
        "teachers",
        "distill",
        "verify",
        "segment",
        "select",
        "export",
    ):
        assert f"## `{section}`" in text
