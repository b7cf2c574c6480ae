"""Isolated, fast execution of untrusted code against tests (leaf library: stdlib + optional pyseccomp).

run(program, language="python", stdin="", limits=Limits(...)) -> Result
run_tests(program, tests, language="python", limits=..., early_stop=False) -> TestReport
run_tests_batch(items, workers=N) -> list[TestReport]; run_tests_async(...)
reward(completions, tests) / await areward(...): TRL-style code reward; extract_code(completion): the block run
isolation_report() -> which layers this host allows (also in every result's `isolation`)
"""

from .api import run, run_tests
from .compare import compare_output
from .extract import extract_code
from .forkserver import ForkServer
from .isolation import SandboxUnavailable, detect
from .languages import Language, get_language, register_language
from .limits import Limits
from .pool import SandboxPool, run_tests_async, run_tests_batch
from .result import STATUSES, Result, TestReport, TestResult
from .reward import areward, reward
from .tests_format import TestsError, parse_tests


def isolation_report() -> dict:
    return detect().to_dict()


__all__ = [
    "STATUSES",
    "ForkServer",
    "Language",
    "Limits",
    "Result",
    "SandboxPool",
    "SandboxUnavailable",
    "TestReport",
    "TestResult",
    "TestsError",
    "areward",
    "compare_output",
    "extract_code",
    "get_language",
    "isolation_report",
    "parse_tests",
    "register_language",
    "reward",
    "run",
    "run_tests",
    "run_tests_async",
    "run_tests_batch",
]
