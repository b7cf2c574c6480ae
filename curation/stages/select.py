"""select stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the select stage is not available in this version; remove the 'select:' section from the manifest")
