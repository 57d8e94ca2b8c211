"""One test per check of the conformance suite, and one for ``--min-coverage``; all share one run."""

from __future__ import annotations

import pytest

from contracts.engine.catalog import CHECK_NAMES
from contracts.pytest_form import Conformance


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_check(check: str, conformance: Conformance) -> None:
    result = conformance.result(check)
    if result is None:
        pytest.skip("not selected")
    if result.status == "skipped":
        pytest.skip(result.skip_reason or "not run")
    if result.status == "failed":
        pytest.fail(f"{check}: {result.description}\n\n{conformance.report(check)}", pytrace=False)


def test_api_coverage(conformance: Conformance) -> None:
    finished = conformance.finished
    if finished.min_coverage is None or finished.coverage is None:
        pytest.skip("no --min-coverage given")
    if finished.coverage_too_low:
        pytest.fail(conformance.coverage_gate, pytrace=False)
