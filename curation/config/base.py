"""Shared pieces of every manifest section: strict models and secret references."""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class Section(BaseModel):
    """Base of every manifest model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def check_env_ref(value: str | None, what: str) -> str | None:
    """Secrets may only appear as `${VAR}` references, so a manifest can never hold one."""
    if value is None:
        return None
    if not ENV_REF.match(value):
        raise ValueError(
            f"{what} must be an environment-variable reference like '${{HF_TOKEN}}', not a literal value "
            "(secrets never go in manifests)"
        )
    return value


def resolve_env_ref(value: str | None) -> str | None:
    """The secret a `${VAR}` reference points at, read at use time (never stored)."""
    if value is None:
        return None
    m = ENV_REF.match(value)
    if not m:
        return value
    return os.environ.get(m.group(1))
