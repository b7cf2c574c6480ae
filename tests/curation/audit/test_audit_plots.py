"""Plot edge cases found on real runs."""

import polars as pl

from curation.audit import plots
from curation.intervals import wilson_scalar


def test_pass_by_difficulty_with_all_correct_bucket_renders():
    # Wilson's upper bound at p = 1 comes out a hair below 1.0 in floating point for n = 10: the error bar must not
    # go negative (matplotlib refuses negative yerr).
    lo, hi = wilson_scalar(10, 10)
    assert hi < 1.0  # the float effect this test guards against
    by_diff = pl.DataFrame(
        {
            "teacher": ["a", "a"],
            "difficulty_bucket": [plots.DIFFICULTY_BUCKETS[0], plots.DIFFICULTY_BUCKETS[1]],
            "pass_rate": [1.0, 0.5],
            "ci_low": [lo, 0.2],
            "ci_high": [hi, 0.8],
        }
    )
    png = plots.pass_by_difficulty(by_diff, {"a": "#123456"})
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
