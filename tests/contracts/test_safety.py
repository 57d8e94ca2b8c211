"""The guard: options, pace, budget, 429s waited out, what is never sent; the ledger's names."""

from __future__ import annotations

import threading

import httpx
import pytest

from contracts.errors import UsageError
from contracts.http.client import Target
from contracts.safety.guard import (
    BudgetExhausted,
    Guard,
    Halted,
    Refused,
    parse_duration,
    parse_rate,
    retry_after_seconds,
)
from contracts.safety.ledger import FIRST, Ledger

FOREIGN = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
OURS = "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b"


class FakeTime:
    """A clock that only moves when the guard sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def guard(**options: object) -> tuple[Guard, FakeTime]:
    fake = FakeTime()
    ledger = Ledger("0badc0de")
    ledger.created(FIRST, OURS, "sip-trunks-check-0badc0de-x")
    ledger.listed(FIRST, [{"id": FOREIGN, "name": "Production trunk"}])
    return Guard(ledger, {"key-1": FIRST}, clock=fake.clock, sleep=fake.sleep, **options), fake  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "per_second"), [("10/s", 10.0), ("600/min", 10.0), ("2.5/s", 2.5), (" 30 / m ", 0.5)]
)
def test_rates_read_as_requests_per_second(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


@pytest.mark.parametrize("text", ["10", "0/s", "ten/s", "10/h"])
def test_a_bad_rate_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="like 10/s or 600/min"):
        parse_rate(text)


def test_durations_and_retry_after_values() -> None:
    assert [parse_duration(text) for text in ("90", "90s", "5m", "1h")] == [90, 90, 300, 3600]
    assert [retry_after_seconds(value) for value in ("2", "0", None, "soon", "9999")] == [2, 0, 1, 1, 60]


def test_the_rate_limit_spaces_requests_evenly() -> None:
    paced, fake = guard(rate=4.0)
    for _ in range(5):
        paced.admit()
    assert fake.slept == [0.25, 0.25, 0.25, 0.25]


def test_max_requests_and_time_budget_stop_the_run_but_not_its_cleanup() -> None:
    counted, _ = guard(max_requests=2)
    counted.admit()
    counted.admit()
    with pytest.raises(BudgetExhausted):
        counted.admit()
    assert counted.stopped == "--max-requests 2 reached"
    counted.cleaning = True
    counted.admit()  # cleanup requests are never refused for the budget
    timed, fake = guard(time_budget=1.0)
    timed.admit()
    with pytest.raises(BudgetExhausted, match="waiting out a 429"):
        timed.wait_out("5")
    assert fake.slept == []


def _in_threads(count: int, job: object) -> None:
    threads = [threading.Thread(target=job) for _ in range(count)]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_budget_holds_for_every_thread_of_the_run() -> None:
    counted, _ = guard(max_requests=100)
    admitted: list[int] = []

    def send_until_stopped() -> None:
        mine = 0
        try:
            while True:
                counted.admit()
                mine += 1
        except BudgetExhausted:
            admitted.append(mine)

    _in_threads(8, send_until_stopped)
    assert len(admitted) == 8  # every thread was stopped
    assert sum(admitted) == counted.sent == 100


def test_the_rate_limit_and_a_429s_wait_hold_for_every_thread() -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(round(seconds, 6))

    # The clock stands still: each request's wait is the slot it was given.
    paced = Guard(Ledger("0badc0de"), rate=4.0, clock=lambda: 0.0, sleep=sleep)
    _in_threads(8, paced.admit)
    assert sorted(waits) == [0.25 * slot for slot in range(1, 8)]  # one slot each, none shared
    waits.clear()
    held = Guard(Ledger("0badc0de"), clock=lambda: 0.0, sleep=sleep)
    held.wait_out("2")  # one thread got a 429 with Retry-After: 2
    _in_threads(3, held.admit)
    assert waits == [2.0, 2.0, 2.0, 2.0]  # its own wait, then every other thread's


def test_a_halted_guard_sends_nothing_more_but_the_cleanup() -> None:
    halted, _ = guard()
    halted.halt()
    with pytest.raises(Halted):
        halted.admit()
    assert halted.stopped is None  # Ctrl-C, not the budget
    halted.cleaning = True
    halted.admit()


def test_writes_only_to_the_runs_own_trunks_and_none_read_only() -> None:
    strict, _ = guard()
    key = "Bearer key-1"
    assert strict.refusal("DELETE", f"/sip-trunks/{FOREIGN}", key) == (
        f"DELETE /sip-trunks/{FOREIGN} names a trunk this run did not create"
    )
    assert strict.refusal("DELETE", f"/sip-trunks/{OURS}", key) is None
    assert strict.refusal("GET", f"/sip-trunks/{FOREIGN}", key) is None
    assert strict.refusal("DELETE", f"/sip-trunks/{FOREIGN}", None) is None  # no key: refused by the target
    no_phones, _ = guard(phone_writes=False)
    no_phones.ledger.phones(FIRST, [{"id": "p1", "transfer_trunk_id": None}])
    assert no_phones.refusal("PATCH", "/phone-numbers/p1", key) is not None
    assert no_phones.refusal("PATCH", "/phone-numbers/unknown", key) is None
    read_only, _ = guard(read_only=True)
    assert read_only.refusal("POST", "/sip-trunks", "Basic key-1") is not None
    assert read_only.may_send("POST", "Bearer unknown") and not read_only.may_send("POST", "key-1")


def test_the_target_waits_out_429_and_the_checks_never_see_it() -> None:
    answers = iter([429, 429, 201])
    sent: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request.read().decode())
        status = next(answers)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(201, json={"id": OURS, "name": "x"})

    paced, fake = guard()
    target = Target("http://127.0.0.1:9", "key-1", transport=httpx.MockTransport(respond), guard=paced)
    exchange = target.request("c", "POST", "/sip-trunks", json_body={"name": "Main", "password": "p"})
    assert exchange.status == 201 and fake.slept == [2.0, 2.0] and paced.rate_limited == 2
    assert all('"name": "sip-trunks-check-0badc0de-Main"' in body for body in sent)
    with pytest.raises(Refused):
        target.request("c", "DELETE", f"/sip-trunks/{FOREIGN}")


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("Main", "sip-trunks-check-0badc0de-Main"),
        ("x" * 255, "sip-trunks-check-0badc0de-" + "x" * 229),  # still the longest valid name
        ("", ""),  # invalid names stay invalid
        ("n" * 256, "n" * 256),
        (42, 42),
        ("sip-trunks-check-0badc0de-Main", "sip-trunks-check-0badc0de-Main"),
    ],
    ids=["short", "longest", "empty", "too-long", "not-a-string", "already-prefixed"],
)
def test_the_run_prefixes_valid_names_only(name: object, sent: object) -> None:
    assert Ledger("0badc0de").name(name) == sent
