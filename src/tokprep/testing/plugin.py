"""tokprep's pytest plugin (registered as the `pytest11` entry point `tokprep`).

It prints a failed conformance check as its report instead of a traceback. It imports nothing
but pytest at import time (no hypothesis, tiktoken or torch), so installing tokprep neither
slows nor breaks unrelated test suites; the kit loads when a `TokenizerConformance` test runs.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["ConformanceFailure"]


class ConformanceFailure(AssertionError):
    """A conformance check failed; its message is the check's report."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator:
    report: Any = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, ConformanceFailure):
        report.longrepr = str(call.excinfo.value)
    return report
