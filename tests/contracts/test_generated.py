"""The schemathesis part: its configuration, and what its checks catch."""

from __future__ import annotations

from collections.abc import Callable

from contracts.suites.generated import positive_statuses
from sip_trunks_openapi import load_spec

from .conftest import RunChecks
from .helpers import failed_checks
from .mutants.model import DeleteDoesNothing
from .mutants.protocol import ErrorsAsPlainJson


def test_valid_data_may_only_meet_the_statuses_the_spec_documents_for_it() -> None:
    paths = load_spec()["paths"]
    assert positive_statuses(paths["/sip-trunks"]["get"]) == ["2xx"]
    assert positive_statuses(paths["/sip-trunks"]["post"]) == ["2xx", "409"]
    assert positive_statuses(paths["/sip-trunks/{id}"]["get"]) == ["2xx", "404"]
    assert positive_statuses(paths["/sip-trunks/{id}"]["delete"]) == ["2xx", "404"]
    assert positive_statuses(paths["/phone-numbers/{id}"]["patch"]) == ["2xx", "404", "422"]


def test_a_correct_mock_passes_the_generated_requests(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(), "stateless,use_after_free,ensure_resource_availability", max_examples=5)
    assert finished.failures == ()


def test_errors_with_the_wrong_content_type_are_caught(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(ErrorsAsPlainJson), "stateless", max_examples=5)
    assert {"content_type_conformance", "problem_details"} <= failed_checks(finished)
    failure = next(f for f in finished.failures if f.check == "problem_details")
    assert failure.message.startswith("expected an application/problem+json body for 4")
    assert failure.steps and failure.steps[-1].startswith("curl -X ")


def test_a_delete_that_does_not_delete_is_caught_along_the_links(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, _ = run_checks(serve(DeleteDoesNothing), "use_after_free", max_examples=50)  # default budget
    assert failed_checks(finished) == {"use_after_free"}
    (failure,) = finished.failures
    assert failure.operation == "DELETE /sip-trunks/{id} (in a sequence along the links)"
    assert [step.split()[2] for step in failure.steps] == ["POST", "DELETE", "GET"]
