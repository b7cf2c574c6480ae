"""Pipeline stages, one module each, `run(ctx)`; the order lives in `curation.runner.STAGES`."""
