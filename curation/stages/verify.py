"""verify stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the verify stage is not available in this version; remove the 'verify:' section from the manifest")
