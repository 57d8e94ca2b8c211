"""The corpus of mutants: the suite fails each one, exit code 1, under the check that must catch it.

Each mutant runs only the suite that must catch it (``--checks <suite>``), at the default
budget and a fixed seed: about a minute for the corpus, where every check against every
mutant takes four. That full run is ``make mutants`` (``benchmarks/mutants.py``): it reports,
per mutant, every check that failed and how long and how many requests the expected one took.
"""

from __future__ import annotations

import pytest

from contracts import CheckConfig, RunFinished, run
from contracts.engine.catalog import CHECK_NAMES, SUITES

from .helpers import TOKEN_A, TOKEN_B, failed_checks
from .mutants.corpus import CORPUS, Planted, serving
from .mutants.harness import Rewriting

SEED = 2026


def check_mutant(planted: Planted, checks: str) -> RunFinished:
    with serving(planted, (TOKEN_A, TOKEN_B)) as base_url:
        config = CheckConfig.from_options(
            base_url=base_url, token=TOKEN_A, second_token=TOKEN_B, seed=SEED, checks=checks, environ={}
        )
        *_, finished = run(config)
    assert isinstance(finished, RunFinished)
    return finished


@pytest.mark.parametrize("planted", CORPUS, ids=[planted.name for planted in CORPUS])
def test_the_suite_fails_a_mutant_under_the_check_that_must_catch_it(planted: Planted) -> None:
    finished = check_mutant(planted, planted.suite)
    assert finished.exit_code == 1
    assert planted.check in failed_checks(finished), (
        f"{planted.name} ({planted.defect}) should fail {planted.check}; "
        f"failed: {[f'{failure.check}: {failure.title}' for failure in finished.failures] or 'nothing'}"
    )


def test_the_corpus_has_fifteen_distinct_defects_over_every_suite() -> None:
    names = [planted.name for planted in CORPUS]
    assert len(set(names)) == len(names) >= 15
    assert all(planted.check in CHECK_NAMES for planted in CORPUS)
    assert {planted.suite for planted in CORPUS} == set(SUITES)
    # Each mutant says what is wrong with it, in one line of its docstring.
    assert all(planted.defect and planted.mutant is not Rewriting for planted in CORPUS)
