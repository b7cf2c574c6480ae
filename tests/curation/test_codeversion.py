"""Stage code versions come from the source they run (issue 18, item 8): editing a function a stage calls —
even in another package — changes that stage's fingerprint; unrelated stages and comment edits do not."""

import shutil
import subprocess
import sys
import textwrap

from curation.codeversion import ROOT, closure, code_version
from curation.runner import STAGES

from .spine_helpers import math_rows, write_jsonl, write_manifest


def _copy_tree(dst):
    for pkg in ("curation", "verifiers", "sandboxes"):
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_stage_has_a_code_version_covering_what_it_imports():
    versions = {s: code_version(f"curation.stages.{s}") for s in STAGES}
    assert len(set(versions.values())) == len(STAGES)
    verify = closure("curation.stages.verify")
    assert {"verifiers.math.extract", "verifiers.math.compare", "verifiers.judge", "sandboxes.api"} <= set(verify)
    assert "curation.cot.crf_segment" in closure("curation.stages.segment")
    assert "curation.runner" not in verify and "curation.manifest" not in verify  # orchestration, not behaviour


def test_editing_a_called_library_function_changes_only_the_stages_that_run_it(tmp_path):
    root = _copy_tree(tmp_path)
    before = {s: code_version(f"curation.stages.{s}", root) for s in STAGES}
    assert before == {s: code_version(f"curation.stages.{s}") for s in STAGES}  # same source, same versions
    compare = root / "verifiers" / "math" / "compare.py"
    _edit(compare, "\ndef ", "\n# a comment changes no behaviour\ndef ")
    assert {s: code_version(f"curation.stages.{s}", root) for s in STAGES} == before
    _edit(compare, "\ndef ", "\ndef _added_helper():\n    return 1\n\n\ndef ")
    after = {s: code_version(f"curation.stages.{s}", root) for s in STAGES}
    changed = {s for s in STAGES if after[s] != before[s]}
    assert "verify" in changed and "segment" in changed  # segment's approach verdicts call verifiers.math
    assert "collect" not in changed and "dedup" not in changed


def test_model_weights_listed_in_code_data_are_part_of_the_version(tmp_path):
    root = _copy_tree(tmp_path)
    before = code_version("curation.stages.segment", root)
    weights = root / "curation" / "cot" / "models" / "dlcot_segmenter.crfsuite"
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert code_version("curation.stages.segment", root) != before
    assert code_version("curation.stages.verify", root) == code_version("curation.stages.verify")


def test_runner_fingerprint_follows_an_edit_in_verifiers_math(tmp_path):
    """End to end: the runner's plan in a copy of the project, before and after a verdict-changing edit."""
    root = _copy_tree(tmp_path / "src")
    write_jsonl(tmp_path / "a.jsonl", math_rows(3))
    m = write_manifest(
        tmp_path / "m.yaml", {"name": "t", "sources": [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}]}
    )
    script = textwrap.dedent(f"""
        import json
        from curation import manifest
        from curation.runner import Runner
        print(json.dumps({{n: fp for n, _, fp in Runner(manifest.load({str(m)!r}), {str(tmp_path / "run")!r}).plan()}}))
    """)

    def plan():
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
            check=True,
        )
        import json

        return json.loads(out.stdout.strip().splitlines()[-1])

    p1 = plan()
    _edit(root / "verifiers" / "math" / "compare.py", "\ndef ", "\ndef _added_helper():\n    return 1\n\n\ndef ")
    p2 = plan()
    assert p1["distill"] == p2["distill"]
    assert p1["verify"] != p2["verify"] and p1["export"] != p2["export"]  # verify and everything after it
