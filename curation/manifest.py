"""The manifest: one YAML recipe for a whole run, validated at load with errors that name file, key path and fix."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from .config.base import Section
from .config.collect import CollectConfig, SourceConfig
from .config.decontaminate import DecontaminateConfig
from .config.dedup import DedupConfig
from .config.distill import DistillConfig, TeacherConfig
from .config.executor import ExecutorConfig
from .config.export import ExportConfig
from .config.segment import SegmentConfig
from .config.select import SelectConfig
from .config.verify import VerifyConfig
from .errors import ManifestError


class Manifest(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="run name; default run dir is runs/<name>")
    description: str | None = Field(default=None, description="free text, shown in the audit report and dataset card")
    run_dir: Path | None = Field(
        default=None, description="where the run lives (default runs/<name>); --run-dir overrides"
    )
    sources: list[SourceConfig] = Field(min_length=1, description="collect: where queries come from")
    collect: CollectConfig = Field(default_factory=CollectConfig, description="collect-stage options")
    dedup: DedupConfig | None = Field(default=None, description="absent: stage off")
    decontaminate: DecontaminateConfig | None = Field(default=None, description="absent: stage off")
    teachers: list[TeacherConfig] = Field(default_factory=list, description="models that produce traces")
    distill: DistillConfig | None = Field(default=None, description="absent: stage off (teachers are not asked)")
    verify: VerifyConfig | None = Field(default=None, description="absent: stage off")
    segment: SegmentConfig | None = Field(default=None, description="absent: stage off")
    select: SelectConfig | None = Field(default=None, description="absent: stage off")
    export: ExportConfig | None = Field(default=None, description="absent: stage off (use `cotforge export`)")
    executor: ExecutorConfig = Field(
        default_factory=ExecutorConfig,
        description="who runs the stages' batch work "
        "(local or Ray); not part of any fingerprint: the tables are the same",
    )

    @model_validator(mode="after")
    def _unique_names(self):
        for what, items in (("sources", self.sources), ("teachers", self.teachers)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"duplicate {what} name {item.name!r}: names must be unique")
                seen.add(item.name)
        return self

    # Where relative paths in the manifest are resolved from; set by `load`.
    _base_dir: Path = Path(".")
    _path: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def path(self) -> Path | None:
        return self._path

    def resolve(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (self._base_dir / p)

    def default_run_dir(self) -> Path:
        return self.run_dir if self.run_dir is not None else Path("runs") / self.name

    def public_dict(self) -> dict[str, Any]:
        """The resolved manifest as stored in the lock file and dataset card: secrets are only ever references."""
        return self.model_dump(mode="json", exclude_none=True)


def _line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """Line (1-based) of the YAML node at a pydantic error location, for messages people can act on."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == key:
                    nxt, line = v, k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `loc` (to list the allowed keys)."""
    current: Any = model
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or key not in current.model_fields:
            return None
        current = _unwrap(current.model_fields[key].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    for arg in typing.get_args(annotation) or (annotation,):
        if arg is type(None):
            continue
        inner = typing.get_args(arg)
        if inner and typing.get_origin(arg) in (list, tuple):
            return _unwrap(inner[0])
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def format_validation_error(
    err: ValidationError,
    path: Path | str,
    root: yaml.Node | None,
    model: type[BaseModel] | None = None,
    what: str = "manifest",
) -> str:
    """One line per problem: file:line, dotted key path, what is wrong (and the allowed keys for unknown ones)."""
    lines = [f"{path}: invalid {what} ({err.error_count()} problem{'s' if err.error_count() > 1 else ''})"]
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-after")))
        dotted = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in loc).replace(".[", "[")
        line = _line_of(root, loc)
        where = f"{path}:{line}" if line else str(path)
        if e["type"] == "extra_forbidden":
            owner = _model_at(model or Manifest, loc)
            allowed = ", ".join(owner.model_fields) if owner else "?"
            lines.append(f"  {where}: unknown key '{dotted}'. Allowed keys here: {allowed}")
        elif e["type"] == "missing":
            lines.append(f"  {where}: missing required key '{dotted}'")
        else:
            got = e.get("input")
            got_s = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"  {where}: {dotted or '(top level)'}: {msg}{got_s}")
    return "\n".join(lines)


def _check_files(m: Manifest, path: Path) -> None:
    problems = []
    for i, s in enumerate(m.sources):
        if s.path is not None:
            p = m.resolve(s.path)
            if not p.exists():
                problems.append(
                    f"  sources[{i}].path: file not found: {p} (paths are relative to the manifest's folder "
                    f"{m.base_dir})"
                )
    if problems:
        raise ManifestError(f"{path}: invalid manifest\n" + "\n".join(problems))


def loads(text: str, path: Path | str = "<string>", base_dir: Path | None = None, check_files: bool = True) -> Manifest:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ManifestError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: a manifest is a YAML mapping (name:, sources:, …), got {type(data).__name__}")
    try:
        m = Manifest.model_validate(data)
    except ValidationError as e:
        raise ManifestError(format_validation_error(e, path, root)) from None
    m._base_dir = (base_dir or Path(path).parent).resolve() if base_dir or path != "<string>" else Path.cwd()
    m._path = Path(path) if path != "<string>" else None
    if check_files:
        _check_files(m, Path(path))
    return m


def load(path: Path | str, check_files: bool = True) -> Manifest:
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: manifest file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text ({e})") from e
    return loads(text, path, base_dir=path.parent, check_files=check_files)
