import pytest

from curation import manifest
from curation.errors import ManifestError

from .spine_helpers import REPO


def _load(tmp_path, text, name="m.yaml"):
    p = tmp_path / name
    p.write_text(text)
    (tmp_path / "q.jsonl").write_text('{"problem": "1+1", "answer": "2"}\n')
    return manifest.load(p)


def test_valid_manifest_resolves_paths_relative_to_file(tmp_path):
    m = _load(tmp_path, "name: t\nsources:\n  - {name: a, kind: jsonl, path: q.jsonl}\n")
    assert m.resolve(m.sources[0].path) == (tmp_path / "q.jsonl").resolve()
    assert m.default_run_dir().as_posix() == "runs/t"


def test_unknown_key_names_file_line_path_and_allowed_keys(tmp_path):
    with pytest.raises(ManifestError) as e:
        _load(tmp_path, "name: t\nsources:\n  - name: a\n    kind: jsonl\n    path: q.jsonl\n    bogus: 1\n")
    msg = str(e.value)
    assert "m.yaml:6: unknown key 'sources[0].bogus'" in msg
    assert "Allowed keys here: name, kind, path" in msg


def test_wrong_type_and_bad_literal_list_allowed_values(tmp_path):
    with pytest.raises(ManifestError) as e:
        _load(tmp_path, "name: t\nsources:\n  - {name: a, kind: xml, path: q.jsonl}\ncollect:\n  batch_size: lots\n")
    msg = str(e.value)
    assert "sources[0].kind: Input should be 'jsonl', 'parquet', 'csv', 'hf' or 'memory' (got 'xml')" in msg
    assert "collect.batch_size: Input should be a valid integer" in msg
    assert "(2 problems)" in msg


def test_missing_file_is_reported_with_the_folder_it_was_resolved_from(tmp_path):
    with pytest.raises(ManifestError) as e:
        _load(tmp_path, "name: t\nsources:\n  - {name: a, kind: jsonl, path: nope.jsonl}\n")
    assert "sources[0].path: file not found" in str(e.value)
    assert "nope.jsonl" in str(e.value)


def test_missing_required_key(tmp_path):
    with pytest.raises(ManifestError, match=r"missing required key 'sources'"):
        _load(tmp_path, "name: t\n")


def test_secrets_must_be_env_references(tmp_path):
    text = "name: t\nsources:\n  - {name: a, kind: hf, hf: {path: x, token: hf_abcdef}}\n"
    with pytest.raises(ManifestError, match=r"environment-variable reference"):
        _load(tmp_path, text)
    m = _load(tmp_path, "name: t\nsources:\n  - {name: a, kind: hf, hf: {path: x, token: '${HF_TOKEN}'}}\n")
    assert m.public_dict()["sources"][0]["hf"]["token"] == "${HF_TOKEN}"


def test_not_yaml_mapping(tmp_path):
    with pytest.raises(ManifestError, match="a manifest is a YAML mapping"):
        _load(tmp_path, "- just\n- a list\n")


def test_demo_manifest_validates():
    m = manifest.load(REPO / "manifests" / "demo.yaml")
    assert m.name == "demo" and len(m.sources) >= 5


def test_the_resume_unit_is_batch_size_everywhere_and_the_old_distill_name_is_still_read(tmp_path):
    head = "name: t\nsources:\n  - {name: a, kind: jsonl, path: q.jsonl}\n"
    old = _load(tmp_path, head + "distill: {part_size: 7}\n")
    new = _load(tmp_path, head + "distill: {batch_size: 7}\nsegment: {batch_size: 9}\nexecutor: {kind: ray}\n")
    assert old.distill.batch_size == new.distill.batch_size == 7
    assert old.distill.model_dump() == new.distill.model_dump()  # same fingerprint input either way
    assert new.segment.batch_size == 9 and new.executor.kind == "ray" and old.executor.kind == "local"
    with pytest.raises(ManifestError, match="executor.kind: Input should be 'local' or 'ray'"):
        _load(tmp_path, head + "executor: {kind: dask}\n")
