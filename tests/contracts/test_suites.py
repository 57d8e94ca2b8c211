"""Our own HTTP suites (auth, secrets, isolation, the cascade) against the mock and planted defects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B, failed_checks, statuses
from .mutants.isolation import OtherOrgCanGet
from .mutants.leaks import LeakPasswordOnGet
from .mutants.model import NoCascade
from .mutants.protocol import AuthNotEnforced


def test_a_correct_mock_passes_every_suite_of_our_own(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(), "auth,secrets,isolation,delete_cascade")
    assert finished.failures == ()
    assert set(statuses(finished).values()) == {"passed"}


@pytest.mark.parametrize(
    ("mutant", "options", "checks", "expected"),
    [
        (AuthNotEnforced, {"token": TOKEN_A}, "auth", "auth_required"),
        (LeakPasswordOnGet, {}, "secrets", "password_never_returned"),
        (OtherOrgCanGet, {"token": TOKEN_A, "other": TOKEN_B}, "isolation", "isolation_get"),
        (NoCascade, {}, "delete_cascade", "delete_cascade"),
    ],
    ids=["auth-not-enforced", "password-on-get", "other-org-can-get", "no-cascade"],
)
def test_a_planted_defect_fails_exactly_its_check(
    serve: Callable[..., str],
    run_checks: RunChecks,
    mutant: Callable[..., Any],
    options: dict[str, str],
    checks: str,
    expected: str,
) -> None:
    finished, _ = run_checks(serve(lambda app: mutant(app, **options)), checks)
    assert failed_checks(finished) == {expected}
    assert finished.exit_code == 1


def test_auth_reports_one_failure_per_kind_of_credentials_naming_every_operation(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(lambda app: AuthNotEnforced(app, token=TOKEN_A)), "auth")
    (failure,) = finished.failures
    assert failure.message.startswith("expected 401 for no Authorization header, got 200 OK")
    assert "also on POST /sip-trunks, GET /sip-trunks/{id}" in failure.message
    assert failure.steps == (f"curl -X GET {failure.steps[0].split()[-1]}",)


def test_without_a_second_key_isolation_is_skipped_with_the_reason(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(), "isolation", second_token=None)
    results = {result.name: result for result in finished.results}
    assert {result.status for result in results.values()} == {"skipped"}
    assert results["isolation_get"].skip_reason == (
        "needs a second organization: give --second-token (or SIP_TRUNKS_SECOND_TOKEN)"
    )
    assert finished.exit_code == 0


def test_isolation_link_is_skipped_when_the_second_organization_has_no_phone_numbers(
    serve: Callable[..., str], run_checks: RunChecks, tmp_path: Any
) -> None:
    import json

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"organizations": {TOKEN_B: {"phone_numbers": []}}}))
    finished, _ = run_checks(serve(seed_file=seed), "isolation")
    assert statuses(finished) == {
        "isolation_list": "passed",
        "isolation_get": "passed",
        "isolation_delete": "passed",
        "isolation_link": "skipped",
    }
