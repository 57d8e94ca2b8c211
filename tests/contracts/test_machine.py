"""The model-based state machine, run in-process against a mock at a small budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import RunChecks
from .helpers import TOKEN_A, failed_checks, statuses
from .mutants.model import DeleteDoesNothing, NoCascade, WrongDefaultPort


def test_the_model_agrees_with_a_correct_mock(serve: Callable[..., str], run_checks: RunChecks) -> None:
    finished, _ = run_checks(serve(), "model", max_examples=8)
    assert finished.failures == ()
    assert set(statuses(finished).values()) == {"passed"}


@pytest.mark.parametrize(
    ("mutant", "check"),
    [
        (WrongDefaultPort, "port_defaults_to_5060"),
        (DeleteDoesNothing, "delete_removes_trunk"),
        (NoCascade, "phone_links_match_model"),
    ],
    ids=["wrong-default-port", "delete-does-nothing", "no-cascade"],
)
def test_the_model_catches_a_planted_defect_under_its_check(
    serve: Callable[..., str], run_checks: RunChecks, mutant: Callable[..., object], check: str
) -> None:
    finished, _ = run_checks(serve(mutant), "model", max_examples=25, seed=3)
    assert check in failed_checks(finished)
    (failure,) = [failure for failure in finished.failures if failure.check == check]
    assert failure.message.startswith("expected ")
    assert failure.steps and all(step.startswith("curl -X ") for step in failure.steps)
    assert TOKEN_A not in "".join(failure.steps)


def test_without_phone_numbers_the_phone_checks_are_skipped_not_passed(
    serve: Callable[..., str], run_checks: RunChecks, tmp_path: Path
) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"organizations": {TOKEN_A: {"trunks": [], "phone_numbers": []}}}))
    finished, _ = run_checks(serve(seed_file=seed_file), "model", max_examples=5)
    assert statuses(finished)["phone_links_match_model"] == "skipped"
    assert statuses(finished)["unknown_trunk_is_422"] == "skipped"
    assert statuses(finished)["get_matches_create"] == "passed"
