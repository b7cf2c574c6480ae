"""A stage's code version, derived from source: its module plus every project module it imports, transitively.

Hand-bumped `VERSION` constants went stale (a verdict-changing edit in `verifiers.math` left verify's fingerprint
alone, so a resumed run kept old verdicts). Here imports are read with `ast` (module level and inside functions,
relative ones resolved) without importing anything, limited to the project packages; each file contributes the
hash of its AST, so comments and formatting do not re-run a stage, code and docstrings do. A module may list data
files its behaviour depends on (model weights) in a literal `CODE_DATA = ("relative/path", ...)`; their bytes are
hashed too. Results are cached per file (path, size, mtime).
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PROJECT_PACKAGES = ("curation", "verifiers", "sandboxes")
ROOT = Path(__file__).resolve().parents[1]
# Orchestration, not behaviour: how a stage is run, configured and stored. Config values are fingerprinted as
# data (each stage's section), so editing these modules must not re-run every stage.
FRAMEWORK = frozenset(
    {
        "curation",
        "curation.stage",
        "curation.stages",
        "curation.store",
        "curation.runner",
        "curation.manifest",
        "curation.errors",
        "curation.codeversion",
        "curation.cli",
    }
)
FRAMEWORK_PREFIXES = ("curation.config", "curation.commands")


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The file of project module `name` (package → its __init__.py), or None when it is not one."""
    if name.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _is_framework(name: str) -> bool:
    return name in FRAMEWORK or any(name == p or name.startswith(p + ".") for p in FRAMEWORK_PREFIXES)


@lru_cache(maxsize=None)
def _file_info(path: str, size: int, mtime_ns: int, root: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(AST hash, imported module names — candidates, resolved later —, CODE_DATA entries) of one file."""
    p = Path(path)
    tree = ast.parse(p.read_text(encoding="utf-8"), filename=path)
    digest = hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()
    name = _module_name(p, Path(root))
    is_pkg = p.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    imports: list[str] = []
    data: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            imports.append(base)
            imports.extend(f"{base}.{a.name}" for a in node.names if a.name != "*")  # submodules, if they are
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CODE_DATA" for t in node.targets
        ):
            data.extend(str(x) for x in ast.literal_eval(node.value))
    return digest, tuple(imports), tuple(data)


def _module_name(path: Path, root: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _info(path: Path, root: Path) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    st = path.stat()
    return _file_info(str(path), st.st_size, st.st_mtime_ns, str(root))


def closure(module: str, root: Path = ROOT) -> dict[str, Path]:
    """Project modules `module` runs: itself, what it imports (transitively), and their parent packages."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or (_is_framework(name) and name != module):
            continue
        path = module_path(name, root)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parents' __init__ run on import
        todo.extend(_info(path, root)[1])
    return seen


def code_version(module: str, root: Path = ROOT) -> str:
    """Hash of the code `module` runs (see the module docstring); changes when any of it changes."""
    h = hashlib.sha256()
    mods = closure(module, root)
    if module not in mods:
        raise ValueError(f"{module!r} is not a module of {', '.join(PROJECT_PACKAGES)} under {root}")
    for name in sorted(mods):
        digest, _, data = _info(mods[name], root)
        h.update(f"{name}\0{digest}\0".encode())
        for rel in data:
            f = mods[name].parent / rel
            if not f.is_file():
                raise FileNotFoundError(f"{name}: CODE_DATA file {rel!r} is missing ({f})")
            h.update(f"{rel}\0".encode() + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]
