"""CLI command modules; each has `register(app)`. Listed here so `cotforge --help` shows them all."""

COMMAND_MODULES = [
    "curation.commands.pipeline",
    "curation.commands.verify",
    "curation.commands.sandbox",
    "curation.commands.dedup",
    "curation.commands.segment",
    "curation.commands.audit",
    "curation.commands.export",
    "curation.commands.lab",
    "curation.commands.train",
]
