"""export stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the export stage is not available in this version; remove the 'export:' section from the manifest")
