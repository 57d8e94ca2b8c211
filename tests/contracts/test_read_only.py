"""``--read-only``: the target's journal shows no request with a side effect that carried a key."""

from __future__ import annotations

from collections.abc import Callable

from mockserver.client import AdminClient
from mockserver.domain.models import org_key

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B, statuses
from .test_safe_fuzzing import seed_foreign_data


def test_a_read_only_run_sends_no_write_with_a_key_and_changes_nothing(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url = serve(journal_size=100_000)
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        finished, _ = run_checks(base_url, "auth,model,isolation,stateless", max_examples=5, read_only=True)
        after = admin.state()
        journal = admin.requests()
    keyed = {org_key(TOKEN_A), org_key(TOKEN_B)}
    writes = [entry for entry in journal if entry.method not in ("GET", "HEAD", "OPTIONS")]
    assert [(entry.method, entry.path) for entry in writes if entry.org in keyed] == []
    # What was sent without a key had to be refused before any effect.
    assert {entry.status for entry in writes} <= {401}
    assert writes, "the auth checks still send unauthenticated writes"
    assert after == before
    assert finished.failures == ()
    result = statuses(finished)
    assert result["auth_required"] == result["response_schema_conformance"] == "passed"
    assert result["create_answers_trunk"] == result["isolation_get"] == "skipped"
    assert result["unsupported_method"] == "skipped"
    assert {r.skip_reason for r in finished.results if r.name == "create_answers_trunk"} == {
        "--read-only: it creates trunks or changes phone numbers"
    }
    assert finished.cleanup is not None and finished.cleanup.deleted == ()


def test_no_phone_writes_sends_no_phone_number_write_with_a_key(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url = serve(journal_size=100_000)
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        finished, _ = run_checks(
            base_url, "model,isolation,sequences,stateless", max_examples=4, no_phone_writes=True
        )
        after = admin.state()
        journal = admin.requests()
    keyed = {org_key(TOKEN_A), org_key(TOKEN_B)}
    phones = {
        f"/phone-numbers/{phone['id']}"
        for org in before["organizations"].values()
        for phone in org["phone_numbers"]
    }
    # Generated requests with other methods go to ids no phone number has.
    phone_writes = [
        (entry.method, entry.path, entry.status)
        for entry in journal
        if entry.path in phones and entry.method != "GET" and entry.org in keyed
    ]
    assert phone_writes == []
    assert after == before
    assert finished.failures == ()
    result = statuses(finished)
    assert result["delete_cascade"] == result["isolation_link"] == result["unknown_trunk_is_422"] == "skipped"
    assert result["create_answers_trunk"] == result["phone_links_match_model"] == "passed"
