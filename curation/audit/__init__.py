"""Teacher-quality audit of a run: per-teacher metrics (polars/DuckDB), figures, a self-contained HTML report.

from curation.audit import run_audit, AuditOptions
result = run_audit("runs/demo", "runs/demo/report/audit", AuditOptions(ppl_model=None))
"""

from .report import AuditOptions, run_audit

__all__ = ["AuditOptions", "run_audit"]
