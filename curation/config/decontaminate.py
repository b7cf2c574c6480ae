"""`decontaminate:` section (owner: decontamination).

Example::

    decontaminate:
      benchmarks: [aime24, aime25, amc23, gsm8k_test, humaneval, mbpp_test,
                   {name: my_eval, path: data/my_eval.jsonl, field: question}]
      detectors: {ngram: {n: 13, short_n: 8}, substring: {min_chars: 50}, embedding: {enabled: true}}
      policy: {changed_numbers: clean, action: remove}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .base import Section
from .embedding import EmbeddingConfig


class BenchmarkSpec(Section):
    """A benchmark file of your own (jsonl/json/parquet/csv, optionally .gz) or a Hugging Face dataset."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    path: Path | None = None
    hf: str | None = Field(default=None, description="dataset id or local dataset folder for datasets.load_dataset")
    hf_config: str | None = None
    split: str = "test"
    field: str = Field(default="problem", description="text column compared against queries")
    id_field: str | None = Field(default="id", description="item id column (row number when absent)")
    domain: Literal["math", "code", "science", "general"] = "math"
    tests_field: str | None = Field(
        default=None,
        description="code benchmarks: column with the item's tests (asserts/doctests; compared by the tests detector)",
    )

    @model_validator(mode="after")
    def _where(self):
        if (self.path is None) == (self.hf is None):
            raise ValueError("a benchmark needs exactly one of `path:` (a file) or `hf:` (a dataset)")
        return self


class NgramDetector(Section):
    enabled: bool = True
    n: int = Field(default=13, ge=3, description="word n-gram size (GPT-3 style)")
    short_n: int = Field(default=8, ge=3, description="n for benchmark items with fewer than 2n words")
    min_overlap: float = Field(default=0.5, gt=0, le=1, description="fraction of the item's n-grams found in the query")
    require_question: bool = Field(
        default=True, description="the item's last (non-instruction) sentence must occur in the query"
    )
    max_inserted: int = Field(
        default=6,
        ge=0,
        description="reject a copy into which the query inserts this many tokens that no item "
        "n-gram covers (a new sentence: superset task); 0 = off",
    )


class SubstringDetector(Section):
    enabled: bool = True
    min_chars: int = Field(default=50, ge=10, description="canonical items shorter than this only match exactly")


class EmbeddingDetector(Section):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1, description="cosine to the nearest same-numbers item")
    numberless_threshold: float = Field(
        default=0.97,
        gt=0,
        le=1,
        description="cosine for items without numbers (no guard; MBPP-style specs sit at 0.8-0.9); 1 = skip them",
    )
    top_k: int = Field(default=5, ge=1)
    question_check: bool = Field(
        default=True,
        description="a hit also needs the query to ask the item's question (same setup with another "
        "question is clean; see contamination._same_question)",
    )
    question_margin: float = Field(
        default=-0.06,
        ge=-1,
        le=1,
        description="minimum question gain for texts with reworded setups (chosen on "
        "synthetic seeds 1-3: recall 0.93-0.96, 21-23% of reworded other-question negatives flagged)",
    )
    same_setup: float = Field(
        default=0.99,
        gt=0,
        le=1,
        description="setup cosine above which two texts share "
        "one setup; then their question clauses must match (same_setup_question)",
    )
    same_setup_question: float = Field(default=0.8, gt=0, le=1)
    formula_share: float = Field(
        default=0.7, ge=0, le=1, description="share of the item's formula tokens ($…$) the query must keep; 0 = off"
    )
    incidental_numbers: list[str] = Field(
        default_factory=lambda: ["0", "1", "2"],
        description="numbers a rephrasing may drop or add (canonical form: '= 0', 'one marble', 'two of')",
    )
    domains: list[Literal["math", "code", "science", "general"]] = Field(
        default_factory=lambda: ["math", "science", "general"],
        description="benchmark domains compared by embedding; code specs ('Write a function to …') all look alike "
        "to MiniLM, so code uses exact/substring/n-gram/code n-gram only",
    )
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)


class JudgeDetector(Section):
    """Optional LLM confirmation, asked only for embedding candidates above `threshold`."""

    enabled: bool = False
    teacher: str | None = Field(default=None, description="name of a `teachers:` entry used as judge")
    threshold: float = Field(default=0.7, gt=0, le=1)
    max_candidates: int = Field(default=200, ge=1)


class TestsDetector(Section):
    enabled: bool = True
    min_specific: int = Field(
        default=2,
        ge=1,
        description="shared examples with specific arguments that make a "
        "hit when they are 3/4 of the item's examples (see text/testcases.py)",
    )
    min_prose: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="with one shared specific example: content-word Jaccard of the two specs that makes a hit",
    )
    sibling_prose: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="specs at least this close (content-word "
        "Jaccard) that differ in a KEEP_WORDS word or a number are sibling tasks, not copies",
    )


class TranslationDetector(Section):
    enabled: bool = True
    min_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of the item's anchors (significant "
        "numbers, capitalized names) a query in another language must keep",
    )


class Detectors(Section):
    translation: TranslationDetector = Field(default_factory=TranslationDetector)
    tests: TestsDetector = Field(default_factory=TestsDetector)
    ngram: NgramDetector = Field(default_factory=NgramDetector)
    substring: SubstringDetector = Field(default_factory=SubstringDetector)
    embedding: EmbeddingDetector = Field(default_factory=EmbeddingDetector)
    judge: JudgeDetector = Field(default_factory=JudgeDetector)


class Policy(Section):
    changed_numbers: Literal["clean", "contaminated"] = Field(
        default="clean",
        description="is a variant of a benchmark item with different numbers contaminated? (default: no)",
    )
    action: Literal["remove", "flag"] = Field(
        default="remove", description="remove: to `removed`; flag: keep, with hits in metadata.contamination"
    )


class DecontaminateConfig(Section):
    enabled: bool = True
    benchmarks: list[str | BenchmarkSpec] = Field(
        default_factory=lambda: [
            "math500",
            "aime24",
            "aime25",
            "amc23",
            "gsm8k_test",
            "minerva_math",
            "olympiadbench",
            "hmmt_feb_2025",
            "gpqa_diamond",
            "humaneval",
            "mbpp_test",
        ],
        description="bundled names (see `cotforge decontaminate --list`) or {name, path|hf, field, …}",
    )
    detectors: Detectors = Field(default_factory=Detectors)
    policy: Policy = Field(default_factory=Policy)
