"""User-facing errors: the CLI prints them and exits 2 (bad input), never with a traceback."""


class UserError(Exception):
    """Bad input or configuration. The message must say what, where and how to fix it."""


class ManifestError(UserError):
    """A manifest that does not validate."""
