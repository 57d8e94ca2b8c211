"""Rate-limit emulation: the token bucket on a fake clock, and the headers and 429s over a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver import MockConfig, running_mock
from mockserver.controls import rate_limit as rate_limit_module
from mockserver.controls.rate_limit import InvalidRateLimit, RateLimit, RateLimiter, parse_rate_limit

from .helpers import TOKEN_A, TOKEN_B, assert_problem, bearer, trunk_body

HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("10/s", RateLimit(10, 1), "10/s"),
        ("600/min", RateLimit(600, 60), "600/m"),
        ("5 / m", RateLimit(5, 60), "5/m"),
        ("1000/h", RateLimit(1000, 3600), "1000/h"),
        ("100/10s", RateLimit(100, 10), "100/10s"),
    ],
)
def test_parse_rate_limit(text: str, limit: RateLimit, shown: str) -> None:
    assert parse_rate_limit(text) == limit
    assert str(limit) == shown and parse_rate_limit(shown) == limit


@pytest.mark.parametrize("text", ["10", "10/x", "0/s", "ten/s", "10/0s", "-1/s", ""])
def test_bad_rate_limits_show_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidRateLimit, match="10/s"):
        parse_rate_limit(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9" * 400 + "/s", "is not like 10/s"),
        ("1" * 60000 + "/s", "is not like 10/s"),  # past int()'s 4300 digits: no bare ValueError
        ("1/" + "9" * 400 + "s", "is not like 10/s"),
        ("1000000001/s", "1 to 1000000000 requests per period (like 10/s), got 1000000001"),
        ("1/86401s", "period is 0.001 s to 86400 s"),
        ("1/25h", "period is 0.001 s to 86400 s"),
    ],
    ids=["count-400-digits", "count-60000-digits", "period-400-digits", "count", "seconds", "hours"],
)
def test_huge_rate_limits_are_refused_in_a_short_message(text: str, message: str) -> None:
    with pytest.raises(InvalidRateLimit) as info:
        parse_rate_limit(text)
    assert message in str(info.value) and len(str(info.value)) < 120


@pytest.mark.parametrize(
    ("requests", "seconds"),
    [
        (10**400, 1.0),
        (0, 1.0),
        (1, 10**400),
        (1, 10.0**300),
        (1, 1e-300),
        (1, float("nan")),
        (1, float("inf")),
    ],
    ids=["count-400-digits", "zero", "period-400-digits", "period-1e300", "period-1e-300", "nan", "inf"],
)
def test_a_rate_limit_out_of_bounds_cannot_be_built(requests: int, seconds: float) -> None:
    # The domain's own guard: no value can reach the bucket arithmetic and make every request a 500.
    with pytest.raises(InvalidRateLimit):
        RateLimit(requests, seconds)


def test_the_largest_limits_do_their_arithmetic() -> None:
    for limit in (RateLimit(1_000_000_000, 0.001), RateLimit(1, 86_400), RateLimit(1_000_000_000, 86_400)):
        limiter = RateLimiter(limit, clock=Clock())
        verdicts = [limiter.take("org") for _ in range(2)]
        assert verdicts[0].allowed and verdicts[0].reset >= 0
        assert all(0 <= v.retry_after <= 86_400 for v in verdicts)


# The bucket ------------------------------------------------------------------------------


def test_a_burst_of_n_then_429_until_a_request_is_refilled() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(3, 1), clock=clock)
    verdicts = [limiter.take("org") for _ in range(4)]
    assert [(v.allowed, v.remaining) for v in verdicts] == [(True, 2), (True, 1), (True, 0), (False, 0)]
    refused = verdicts[-1]
    assert (refused.limit, refused.reset, refused.retry_after) == (3, 1, 1)
    assert refused.headers()[-1] == (b"retry-after", b"1")
    clock.now += 1 / 3  # one request's worth of refill
    assert limiter.take("org").allowed
    assert not limiter.take("org").allowed


def test_retry_after_and_reset_are_whole_seconds_rounded_up() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(2, 60), clock=clock)  # one request every 30 s
    limiter.take("org"), limiter.take("org")
    refused = limiter.take("org")
    assert (refused.allowed, refused.retry_after, refused.reset) == (False, 30, 60)
    clock.now += 45
    allowed = limiter.take("org")
    assert (allowed.allowed, allowed.remaining, allowed.reset) == (True, 0, 45)


def test_organizations_have_their_own_buckets() -> None:
    limiter = RateLimiter(RateLimit(1, 1), clock=Clock())
    assert limiter.take("a").allowed and limiter.take("b").allowed
    assert not limiter.take("a").allowed


def test_changing_the_limit_or_resetting_refills() -> None:
    limiter = RateLimiter(RateLimit(1, 1), clock=Clock())
    limiter.take("a"), limiter.take("b")
    limiter.reset("a")
    assert limiter.take("a").allowed and not limiter.take("b").allowed
    limiter.limit = RateLimit(1, 1)
    assert limiter.take("b").allowed


def test_buckets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit_module, "MAX_BUCKETS", 2)
    limiter = RateLimiter(RateLimit(1, 60), clock=Clock())
    limiter.take("a"), limiter.take("b"), limiter.take("c")  # "a", seen least recently, is forgotten
    assert limiter.take("a").allowed
    assert not limiter.take("c").allowed


# Over a real socket ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    # 3 per minute: no refill worth a request during a test, so every count is exact.
    config = MockConfig(validate_responses=True, access_log=False, rate_limit=RateLimit(3, 60))
    with running_mock(config) as mock:
        yield mock.base_url


def limits(response: httpx.Response) -> tuple[str, ...]:
    return tuple(response.headers.get(name, "-") for name in HEADERS)


def test_every_answer_carries_the_headers_and_the_fourth_is_429(http: httpx.Client) -> None:
    answers = [http.get("/sip-trunks", headers=bearer()) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [limits(r) for r in answers] == [
        ("3", "2", "20"),
        ("3", "1", "40"),
        ("3", "0", "60"),
        ("3", "0", "60"),
    ]
    refused = answers[-1]
    assert_problem(refused, 429, "Rate limit of 3/m per organization exceeded; retry after 20 s")
    assert refused.headers["retry-after"] == "20"
    assert "retry-after" not in answers[0].headers


def test_errors_and_every_operation_count_and_carry_the_headers(http: httpx.Client) -> None:
    created = http.post("/sip-trunks", json=trunk_body(), headers=bearer())
    invalid = http.post("/sip-trunks", json={}, headers=bearer())
    deleted = http.delete(created.headers["location"], headers=bearer())
    assert [(r.status_code, limits(r)[1]) for r in (created, invalid, deleted)] == [
        (201, "2"),
        (400, "1"),
        (204, "0"),
    ]


def test_requests_without_a_token_share_one_bucket_and_get_the_headers(http: httpx.Client) -> None:
    answers = [http.get("/sip-trunks") for _ in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert all(limits(r)[0] == "3" for r in answers)


def test_organizations_are_limited_separately(http: httpx.Client) -> None:
    for _ in range(3):
        http.get("/sip-trunks", headers=bearer(TOKEN_A))
    assert http.get("/sip-trunks", headers=bearer(TOKEN_A)).status_code == 429
    assert http.get("/sip-trunks", headers=bearer(TOKEN_B)).status_code == 200


def test_the_admin_api_is_never_limited(http: httpx.Client) -> None:
    answers = [http.get("/__admin/health") for _ in range(6)]
    assert {r.status_code for r in answers} == {200}
    assert all(limits(r) == ("-", "-", "-") for r in answers)


def test_an_injected_fault_carries_the_headers_too(http: httpx.Client) -> None:
    http.post("/__admin/faults", json={"status": 503, "times": 1})
    response = http.get("/phone-numbers", headers=bearer())
    assert response.status_code == 503 and limits(response) == ("3", "2", "20")


def test_reset_refills_every_bucket_or_one(http: httpx.Client) -> None:
    for token in (TOKEN_A, TOKEN_A, TOKEN_A, TOKEN_B, TOKEN_B, TOKEN_B):
        http.get("/sip-trunks", headers=bearer(token))
    http.post("/__admin/reset", params={"token": TOKEN_A})
    assert http.get("/sip-trunks", headers=bearer(TOKEN_A)).status_code == 200
    assert http.get("/sip-trunks", headers=bearer(TOKEN_B)).status_code == 429


def test_the_limit_changes_at_run_time_and_reset_restores_the_start_one(http: httpx.Client) -> None:
    assert http.get("/__admin/rate-limit").json() == {"rate": "3/m"}
    assert http.put("/__admin/rate-limit", json={"rate": "1/h"}).json() == {"rate": "1/h"}
    assert [http.get("/sip-trunks", headers=bearer()).status_code for _ in range(2)] == [200, 429]
    assert http.delete("/__admin/rate-limit").status_code == 204
    assert http.get("/__admin/rate-limit").json() == {"rate": None}
    response = http.get("/sip-trunks", headers=bearer())
    assert response.status_code == 200 and limits(response) == ("-", "-", "-")
    http.post("/__admin/reset")
    assert http.get("/__admin/rate-limit").json() == {"rate": "3/m"}


def test_a_400_digit_count_is_400_and_product_requests_stay_served(http: httpx.Client) -> None:
    # It once was accepted, and from then on every product request was a 500.
    response = http.put("/__admin/rate-limit", json={"rate": "9" * 400 + "/s"}, timeout=10)
    assert_problem(response, 400, "rate: length must be at most 32")
    assert http.get("/__admin/rate-limit").json() == {"rate": "3/m"}
    assert http.get("/sip-trunks", headers=bearer(), timeout=10).status_code == 200


def test_a_count_over_the_bound_is_400_from_the_domain(http: httpx.Client) -> None:
    response = http.put("/__admin/rate-limit", json={"rate": "9999999999/s"}, timeout=10)
    assert_problem(response, 400, "1 to 1000000000 requests per period")
    assert http.get("/sip-trunks", headers=bearer(), timeout=10).status_code == 200


def test_a_bad_limit_is_400(http: httpx.Client) -> None:
    assert_problem(http.put("/__admin/rate-limit", json={"rate": "lots"}), 400, "is not like 10/s")
    assert_problem(http.put("/__admin/rate-limit", json={}), 400, "'rate' is a required property")


def test_off_by_default_no_headers() -> None:
    with running_mock(MockConfig(access_log=False)) as mock:
        response = httpx.get(f"{mock.base_url}/sip-trunks", headers=bearer())
        assert response.status_code == 200 and limits(response) == ("-", "-", "-")
        assert httpx.get(f"{mock.base_url}/__admin/rate-limit").json() == {"rate": None}
