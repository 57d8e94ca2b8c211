"""Suite ``robustness``: the mock passes it; a server with either defect once found by hand fails it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.safety.ledger import NAME_PREFIX
from contracts.suites.robustness import MEDIA_TYPE, ODD_JSON, odd_bodies

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B, failed_checks, statuses
from .mutants.harness import Rewriting, Seen
from .mutants.protocol import CreateAnswers200
from .mutants.robustness import DeepJsonCrashes, MixedCaseMediaTypeCrashes

VALID = {"name": "odd", "host": "sip.example.com", "username": "u", "password": 'stk0p001 "/é+&'}


def _trunk_names(base_url: str) -> list[str]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}) as client:
        return [trunk["name"] for trunk in client.get("/sip-trunks").json()["trunks"]]


@pytest.mark.parametrize("options", [{}, {"no_phone_writes": True}], ids=["default", "no-phone-writes"])
def test_the_mock_passes_both_checks_and_keeps_none_of_the_trunks(
    serve: Callable[..., str], run_checks: RunChecks, options: dict[str, Any]
) -> None:
    base_url = serve()
    before = _trunk_names(base_url)
    finished, _ = run_checks(base_url, "robustness", **options)
    assert finished.failures == ()
    assert statuses(finished) == {MEDIA_TYPE: "passed", ODD_JSON: "passed"}
    assert _trunk_names(base_url) == before


@pytest.mark.parametrize(
    ("mutant", "check", "evidence"),
    [
        (MixedCaseMediaTypeCrashes, MEDIA_TYPE, "-H 'Content-Type: Application/JSON'"),
        # The 60 KB body is reproduced by the command that writes it, not printed.
        (
            DeepJsonCrashes,
            ODD_JSON,
            """--data-binary @<(python3 -c 'import sys; sys.stdout.write("[" * 30000""",
        ),
    ],
    ids=["mixed-case-media-type", "deep-json"],
)
def test_a_server_that_answers_500_fails_the_check_with_a_reproduction(
    serve: Callable[..., str], run_checks: RunChecks, mutant: type[Rewriting], check: str, evidence: str
) -> None:
    base_url = serve(mutant)
    finished, events = run_checks(base_url, "robustness")
    assert failed_checks(finished) == {check}
    assert finished.exit_code == 1
    failure = finished.failures[0]
    assert ", got 500 Internal Server Error" in failure.message
    assert evidence in failure.steps[-1]
    assert '-H "Authorization: Bearer $TOKEN"' in failure.steps[-1]
    assert TOKEN_A not in repr(events) and TOKEN_B not in repr(events)
    # Trunks created behind a 500 carry the run's prefix: the run's clean-up finds and deletes them.
    assert finished.cleanup is not None and finished.cleanup.left == ()
    assert not any(name.startswith(NAME_PREFIX) for name in _trunk_names(base_url))


@dataclass
class ListFailsAfterABadBody(Rewriting):
    """After any 400, GET /sip-trunks answers 500: a worker wedged by a body it refused."""

    wedged: bool = False

    def rewrite(self, seen: Seen) -> None:
        if seen.method == "GET" and seen.path == "/sip-trunks" and self.wedged:
            seen.status = 500
        self.wedged = self.wedged or seen.status == 400


def test_a_server_that_stops_listing_after_a_refused_body_fails(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(ListFailsAfterABadBody), ODD_JSON)
    assert failed_checks(finished) == {ODD_JSON}
    failure = finished.failures[0]
    assert failure.message.startswith(
        "expected GET /sip-trunks still 200 after JSON nested 30000 deep (arrays)"
    )
    # The refused request, then the list that failed.
    assert [step.split()[2] for step in failure.steps] == ["POST", "GET"]


def test_media_type_is_skipped_when_even_a_lowercase_create_fails(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(CreateAnswers200), MEDIA_TYPE)
    (result,) = finished.results
    assert result.status == "skipped"
    assert result.skip_reason is not None
    assert result.skip_reason.startswith("a create sent as application/json was not 201 with a trunk: 200 OK")


def test_read_only_skips_the_suite_it_creates_trunks(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(), "robustness", read_only=True)
    assert {result.name: result.skip_reason for result in finished.results} == {
        MEDIA_TYPE: "--read-only: it creates trunks or changes phone numbers",
        ODD_JSON: "--read-only: it creates trunks or changes phone numbers",
    }
    assert finished.exit_code == 0


def test_every_odd_body_is_a_refusable_create_and_its_shell_word_writes_it_exactly() -> None:
    bodies = odd_bodies(VALID)
    assert len({odd.label for odd in bodies}) == len(bodies) == 10
    for odd in bodies:
        assert odd.content != json.dumps(VALID).encode()
        assert len(odd.content) < 65536, odd.label  # under the mock's body limit: the parser sees it
    # The reproductions need bash and python3, as `make` does on the machines we support.
    for odd in bodies:
        if odd.shell is not None:
            written = subprocess.run(
                ["bash", "-c", f"cat {odd.shell.removeprefix('@')}"], capture_output=True, check=True
            ).stdout
            assert written == odd.content, odd.label
