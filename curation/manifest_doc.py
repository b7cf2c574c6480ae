"""Generate the manifest reference (docs/manifest.md) from the pydantic models, so the docs cannot drift.

`python -m curation.manifest_doc > docs/manifest.md`; a test checks the committed file is current.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .manifest import Manifest


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args if a is not Ellipsis)}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation)).replace("PosixPath", "path")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found = []
    for arg in typing.get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            found.append(arg)
        else:
            found.extend(_models_in(arg) if typing.get_args(arg) else [])
    return found


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
        if isinstance(value, BaseModel):
            return "(defaults below)"
        return f"`{value!r}`"
    return "" if field.default is PydanticUndefined else f"`{field.default!r}`"


def render() -> str:
    out = [
        "# Manifest reference",
        "",
        "Generated from the pydantic models by `python -m curation.manifest_doc` — do not edit by hand.",
        "Unknown keys are errors. Relative paths resolve from the manifest's folder. Secrets only as `${VAR}`.",
        "",
    ]
    seen: set[str] = set()
    queue: list[tuple[str, type[BaseModel]]] = [("(top level)", Manifest)]
    while queue:
        path, model = queue.pop(0)
        if model.__name__ in seen:
            continue
        seen.add(model.__name__)
        out += [f"## `{path}` ({model.__name__})", ""]
        doc = (model.__doc__ or "").strip().split("\n\n")[0]
        if doc and not doc.startswith("Base of"):
            out += [doc.replace("\n", " "), ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
            for sub in _models_in(field.annotation):
                sub_path = name if path == "(top level)" else f"{path}.{name}"
                queue.append((sub_path, sub))
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render())
