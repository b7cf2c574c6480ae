"""segment stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the segment stage is not available in this version; remove the 'segment:' section from the manifest")
