"""Issue 7, done when: a run against an account holding someone else's data leaves it as it was.

The mock is seeded with another team's trunks and phone-number links in the checked
organization, and runs with injected 429s, latency and a rate limit. Afterwards the state
of both organizations is exactly what it was, nothing the run created is left, and no 429
was reported as a violation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from mockserver.client import AdminClient

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B

FOREIGN_TRUNKS = [
    {
        "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
        "name": "Production trunk",
        "host": "sip.carrier.example",
        "port": 5061,
        "username": "prod",
        "created_at": "2025-12-13T10:00:00.000Z",
    },
    {
        "id": "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b",
        "name": "Backup trunk",
        "host": "192.0.2.44",
        "port": 5060,
        "username": "backup",
        "created_at": "2025-12-14T09:30:00.000Z",
    },
]


def seed_foreign_data(admin: AdminClient) -> dict[str, Any]:
    """Another team's trunks in organization A, with two of its three phone numbers linked to them."""
    admin.put_state({"organizations": {TOKEN_A: {}, TOKEN_B: {}}})  # demo phone numbers for both
    state = admin.state()
    org = state["organizations"][TOKEN_A]
    org["trunks"] = copy.deepcopy(FOREIGN_TRUNKS)
    org["phone_numbers"][0]["transfer_trunk_id"] = FOREIGN_TRUNKS[0]["id"]
    org["phone_numbers"][1]["transfer_trunk_id"] = FOREIGN_TRUNKS[1]["id"]
    admin.put_state(state)
    return admin.state()


def test_a_run_leaves_foreign_data_unchanged_and_nothing_of_its_own_under_faults_and_rate_limits(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url = serve(journal_size=100_000, fault_seed=7)
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        admin.set_rate_limit("400/s")
        admin.inject("status=429 fraction=0.08 retry_after=0")
        admin.inject("latency=0-2ms")

        finished, _ = run_checks(base_url, ",".join(_ALL), max_examples=4, seed=3, rate_limit=300.0)

        after = admin.state()
        journal = admin.requests()
    assert finished.failures == (), [failure.title for failure in finished.failures]
    assert after == before  # byte for byte: the run's own trunks are gone, every link put back
    rate_limited = [entry for entry in journal if entry.status == 429]
    assert len(rate_limited) > 10  # 429s happened, were waited out, and none was reported
    assert finished.cleanup is not None and finished.cleanup.clean
    assert finished.cleanup.deleted  # the generated phases left trunks; the cleanup took them
    foreign = {trunk["id"] for trunk in FOREIGN_TRUNKS}
    writes = [entry for entry in journal if entry.method in ("DELETE", "PATCH", "PUT", "POST")]
    assert not [entry for entry in writes if any(trunk_id in entry.path for trunk_id in foreign)]


_ALL = ("auth", "model", "secrets", "isolation", "sequences", "stateless")
