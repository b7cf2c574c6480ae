"""distill stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the distill stage is not available in this version; remove the 'distill:' section from the manifest")
