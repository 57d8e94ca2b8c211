"""The proxy in front of each mutant of the corpus, driven by a short scripted client, flags its defect.

The proxy keeps what it saw, so it catches what a proxy that checks each exchange alone
cannot: a delete that does nothing, a list that drops the newest trunk, another
organization's trunks, a missing cascade, a wrong default port, an out-of-range port accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from .helpers import TOKEN_A, TOKEN_B
from .mutants.corpus import CORPUS, Planted, serving
from .mutants.harness import TRUNK_PATH, Rewriting, Seen
from .proxy_traffic import drive, watching

# Where the proxy's name for the defect differs from the suite's: it judges one exchange at a
# time, so the rule that fires is the one the exchange breaks (e.g. a 400 to a valid request).
FLAGGED_AS = {
    "MalformedIdIs400": "positive_data_acceptance",
    "PortClampedIntoRange": "negative_data_rejection",
    "UnknownPropertiesIgnored": "negative_data_rejection",
    "IPv6HostRefused": "positive_data_acceptance",
    "NonLatin1NameCrashes": "not_a_server_error",
    "MixedCaseMediaTypeCrashes": "not_a_server_error",
    "DeepJsonCrashes": "not_a_server_error",
    "NoCascade": "delete_cascade",
    "UnknownTrunkIs404": "unknown_trunk_is_422",
    "NoChallengeOn401": "response_headers_conformance",
}
# Defects the proxy cannot tell from traffic that bypasses it (see docs/proxy.md).
NOT_FLAGGED = {
    # A phone number that reads null after another trunk's delete may have been unlinked by a
    # client the proxy does not see: the proxy would raise a false alarm to flag it.
    "CascadeClearsEveryNumber",
}
FLAGGABLE = [planted for planted in CORPUS if planted.name not in NOT_FLAGGED]


@pytest.mark.parametrize("planted", FLAGGABLE, ids=[planted.name for planted in FLAGGABLE])
def test_the_proxy_flags_each_mutant_as_it_should(planted: Planted) -> None:
    expected = FLAGGED_AS.get(planted.name, planted.check)
    with serving(planted, (TOKEN_A, TOKEN_B)) as upstream, watching(upstream) as proxy:
        drive(proxy.base_url)
    flagged = proxy.checks("server")
    assert expected in flagged, (
        f"{planted.name} ({planted.defect}) should be flagged {expected}; got {flagged}"
    )
    lines = "\n".join(proxy.lines)
    assert TOKEN_A not in lines and TOKEN_B not in lines
    assert "s3cret-Pass-2026" not in lines


@pytest.mark.parametrize("through", [False, True], ids=["mock", "mock-through-rewriting"])
def test_the_same_traffic_to_a_correct_mock_flags_nothing_on_the_server_side(through: bool) -> None:
    with serving(None, (TOKEN_A, TOKEN_B), through=through) as upstream, watching(upstream) as proxy:
        drive(proxy.base_url)
    assert [line for line in proxy.lines if line.startswith("VIOLATION server")] == []
    # The script's own broken requests are the client's: each says so.
    assert proxy.checks("client") == {"request_body_schema", "bearer_credentials"}


@pytest.mark.parametrize("name", sorted(NOT_FLAGGED))
def test_the_defects_the_proxy_leaves_to_the_suite_stay_unflagged(name: str) -> None:
    # Pinned, so that flagging them later is a decision, not an accident.
    (planted,) = [planted for planted in CORPUS if planted.name == name]
    with serving(planted, (TOKEN_A, TOKEN_B)) as upstream, watching(upstream) as proxy:
        drive(proxy.base_url)
    assert FLAGGED_AS.get(name, planted.check) not in proxy.checks("server")


@dataclass
class StaleReadAfterDelete(Rewriting):
    """A read served by a lagging replica: GET of a trunk deleted a moment ago still answers it."""

    seen: dict[str, bytes] = field(default_factory=dict)

    def rewrite(self, seen: Seen) -> None:
        match = TRUNK_PATH.match(seen.path)
        if match and seen.method == "GET" and seen.status == 200:
            self.seen[match["id"]] = seen.body
        elif match and seen.method == "GET" and seen.status == 404 and match["id"] in self.seen:
            seen.status, seen.body = 200, self.seen[match["id"]]
            seen.set_header(b"content-type", b"application/json")


def test_the_proxy_flags_a_stale_read_that_a_check_of_each_exchange_alone_passes() -> None:
    # Every answer is valid on its own: only the memory of the 204 makes the 200 wrong.
    with (
        serving(None, (TOKEN_A, TOKEN_B), wrap=StaleReadAfterDelete) as upstream,
        watching(upstream) as proxy,
    ):
        drive(proxy.base_url)
    assert proxy.checks("server") == {"delete_removes_trunk"}
