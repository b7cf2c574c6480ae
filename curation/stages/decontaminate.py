"""decontaminate stage (being built: see its issue)."""

from ..errors import UserError


def run(ctx) -> None:
    raise UserError("the decontaminate stage is not available in this version; remove the 'decontaminate:' section from the manifest")
