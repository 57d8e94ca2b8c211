"""One test per check of the conformance suite; all share one run of the engine."""

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
