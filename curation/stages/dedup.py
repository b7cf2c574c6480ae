"""dedup stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the dedup stage is not available in this version; remove the 'dedup:' section from the manifest")
