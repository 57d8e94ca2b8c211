"""The pieces that keep the checker within bounds: paths from untrusted ids, sizes, 429 waits, body caps."""

from __future__ import annotations

import httpx
import pytest

from contracts.engine.config import CheckConfig, parse_size
from contracts.engine.verdicts import Violation
from contracts.errors import UsageError
from contracts.http.bounded import DEFAULT_MAX_BODY
from contracts.http.client import Target
from contracts.http.paths import UnsafeId, confined, phone_path, trunk_path
from contracts.safety.guard import Refused, Throttled

from .test_safety import guard


@pytest.mark.parametrize(
    ("trunk_id", "path"),
    [
        ("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f", "/sip-trunks/6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"),
        ("../../../x", "/sip-trunks/..%2F..%2F..%2Fx"),
        ("a?b#c", "/sip-trunks/a%3Fb%23c"),
        ("%2e%2e", "/sip-trunks/%252e%252e"),
        ("...", "/sip-trunks/..."),
    ],
)
def test_an_id_goes_into_a_path_as_one_encoded_segment(trunk_id: str, path: str) -> None:
    assert trunk_path(trunk_id) == path
    assert confined(path)


@pytest.mark.parametrize("unsafe", ["", ".", "..", None, 7, {"an": "object"}, ["a"]])
def test_an_id_that_cannot_name_one_resource_is_never_put_into_a_path(unsafe: object) -> None:
    with pytest.raises(UnsafeId, match="cannot name one resource"):
        trunk_path(unsafe)
    with pytest.raises(UnsafeId):
        phone_path(unsafe)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/sip-trunks", True),
        ("/sip-trunks?x=1", True),
        ("/phone-numbers/abc", True),
        ("/sip-trunks/", False),
        ("/sip-trunks/..", False),
        ("/sip-trunks/%2E%2E", False),
        ("/sip-trunks/a/b", False),
        ("/sip-trunks/../x", False),
        ("/x", False),
        ("/", False),
        ("/sip-trunksx/1", False),
    ],
)
def test_writes_are_confined_to_the_collections(path: str, ok: bool) -> None:
    assert confined(path) is ok


def test_our_client_refuses_a_write_outside_the_collections_before_sending() -> None:
    sent: list[str] = []
    transport = httpx.MockTransport(lambda request: sent.append(request.url.path) or httpx.Response(204))
    with Target("http://127.0.0.1:9", "key", transport=transport) as target:
        target.request("c", "GET", "/__admin/health")  # reads may go anywhere under the base URL
        with pytest.raises(Refused, match="outside /sip-trunks and /phone-numbers"):
            target.request("c", "DELETE", "/sip-trunks/../../x")
    assert sent == ["/__admin/health"]


@pytest.mark.parametrize(
    ("text", "size"), [("8MiB", 8 << 20), ("512k", 512 << 10), ("1048576", 1 << 20), ("1.5 MB", 3 << 19)]
)
def test_sizes_read_in_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1MiB", "100", "8 TiB"])
def test_a_bad_size_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="--max-response-size"):
        parse_size(text)


def test_the_bounds_have_defaults_and_options() -> None:
    config = CheckConfig.from_options()
    assert (config.request_timeout, config.max_response_size, config.max_rate_limit_wait) == (
        10.0,
        DEFAULT_MAX_BODY,
        60.0,
    )
    config = CheckConfig.from_options(
        request_timeout="30s", max_response_size="1MiB", max_rate_limit_wait="2m"
    )
    bounds = (config.request_timeout, config.max_response_size, config.max_rate_limit_wait)
    assert bounds == (30.0, 1 << 20, 120.0)
    with pytest.raises(UsageError, match="--request-timeout"):
        CheckConfig.from_options(request_timeout="soon")


def test_429_waits_are_bounded_in_all_then_the_run_stops_but_the_cleanup_does_not_wait() -> None:
    paced, fake = guard(max_rate_limit_wait=5.0)
    assert paced.wait_out("2") and paced.wait_out("2")
    with pytest.raises(Throttled, match=r"429 \(rate limited\) for over 5 s in all"):
        paced.wait_out("2")
    assert paced.throttled and fake.slept == [2.0, 2.0]
    paced.cleaning = True
    assert not paced.wait_out("2")  # past the bound: the cleanup takes the 429 as it is
    assert fake.slept == [2.0, 2.0]


def test_the_cleanup_stops_waiting_at_its_deadline() -> None:
    paced, fake = guard()
    paced.cleaning = True
    assert not paced.wait_out("5", not_after=fake.now + 3)
    assert paced.wait_out("2", not_after=fake.now + 3)


def test_an_answer_over_the_cap_is_a_violation_of_the_check_that_asked() -> None:
    body = b"x" * 5000

    def respond(request: httpx.Request) -> httpx.Response:
        declared = request.url.path.endswith("declared")
        return httpx.Response(200, content=body if declared else iter([body]))

    with Target("http://127.0.0.1:9", "key", transport=httpx.MockTransport(respond), max_body=4096) as target:
        for path in ("/sip-trunks/declared", "/sip-trunks/streamed"):
            with pytest.raises(Violation) as raised:
                target.request("get_matches_create", "GET", path)
            assert raised.value.check == "get_matches_create"
            assert raised.value.message.startswith("expected an answer of at most 4 KiB, got a body of")
