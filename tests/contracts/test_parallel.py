"""Lanes: shares and seeds, threads that hand back results and errors, and runs in lanes that stay exact.

No assert here is on time: how much faster lanes are is measured by ``make bench-check``.
"""

from __future__ import annotations

import _thread
import asyncio
import json
import threading
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import pytest

from contracts.engine import core as engine
from contracts.engine.config import CheckConfig
from contracts.engine.events import CleanupFinished, Event, RunFinished, RunStarted
from contracts.engine.parallel import Lane, lane_seed, run_lanes, shares, stream_lanes
from contracts.safety.guard import Guard, Halted
from contracts.safety.ledger import Ledger
from mockserver.client import AdminClient
from mockserver.controls.faults import Latency
from tests.contracts.mutants.harness import App, Receive, Scope, Send

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B, statuses


def test_shares_cut_the_work_evenly_and_one_lane_keeps_the_runs_seed() -> None:
    assert shares(50, 8) == [7, 7, 6, 6, 6, 6, 6, 6]
    assert shares(5, 1) == [5]
    assert sum(shares(101, 8)) == 101
    assert lane_seed(2026, Lane(0, 1)) == 2026  # --concurrency 1: today's programs
    seeds = [lane_seed(2026, Lane(index, 8)) for index in range(8)]
    assert len(set(seeds)) == 8
    assert seeds == [lane_seed(2026, Lane(index, 8)) for index in range(8)]  # the same every run
    assert all(0 <= seed < 2**32 for seed in seeds)


def test_lanes_hold_disjoint_phone_numbers_that_cover_them_all() -> None:
    phones = ["p5", "p1", "p4", "p2", "p3"]
    held = [Lane(index, 3).holds(phones) for index in range(3)]
    assert held == [["p1", "p4"], ["p2", "p5"], ["p3"]]
    assert Lane().holds(phones) == sorted(phones)
    assert [Lane(index, 3).prefix for index in range(3)] == ["lane0-", "lane1-", "lane2-"]
    assert Lane().prefix == ""


def test_run_lanes_hands_back_results_in_order_and_a_lanes_error_once_all_ended() -> None:
    assert run_lanes([lambda: 1, lambda: 2, lambda: 3], None) == [1, 2, 3]
    finished = threading.Event()

    def slow() -> str:
        finished.wait(1)
        return "done"

    def failing() -> str:
        finished.set()
        raise ValueError("lane 1 broke")

    with pytest.raises(ValueError, match="lane 1 broke"):
        run_lanes([slow, failing], None)
    assert finished.is_set()


def test_an_interrupted_lane_halts_the_others_through_the_guard() -> None:
    guard = Guard(Ledger("0badc0de"))
    started = threading.Barrier(3)

    def sending() -> None:
        started.wait()
        while True:
            guard.admit()  # raises Halted once a lane was interrupted

    def interrupted() -> None:
        started.wait()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_lanes([sending, sending, interrupted], guard)
    assert guard.halted
    with pytest.raises(Halted):
        guard.admit()
    guard.cleaning = True
    guard.admit()  # the clean-up still sends


def test_stream_lanes_yields_every_lanes_events() -> None:
    def lane(name: str) -> Callable[[Callable[[str], None]], None]:
        def job(emit: Callable[[str], None]) -> None:
            for index in range(3):
                emit(f"{name}{index}")

        return job

    assert sorted(stream_lanes([lane("a"), lane("b")], None)) == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_leaving_the_stream_early_halts_every_lane_and_waits_for_it() -> None:
    # What the sequences suite does when Ctrl-C comes while schemathesis's lanes run.
    guard = Guard(Ledger("0badc0de"))
    ended: list[str] = []

    def sending(emit: Callable[[str], None]) -> None:
        try:
            while True:
                guard.admit()
                emit("answered")
        finally:
            ended.append("lane")

    with closing(stream_lanes([sending, sending], guard)) as events:
        assert next(events) == "answered"
    assert guard.halted
    assert ended == ["lane", "lane"]


class HoldCreates:
    """Holds the first ``wanted`` creates until all are in flight at once, then presses Ctrl-C.

    They are let through a moment later: the trunks are created after the interrupt, so
    only a ledger that records each answer before the lanes stop can delete them.
    """

    def __init__(self, app: App, wanted: int) -> None:
        self.app, self.wanted = app, wanted
        self.in_flight = self.most = 0
        self.pressed = False
        self.created: list[str] = []
        self._all_in: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        creating = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/sip-trunks"
        if not creating or (self.pressed and self.in_flight == 0):
            await self.app(scope, receive, send)
            return
        self._all_in = self._all_in or asyncio.Event()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight == self.wanted and not self.pressed:
            self.pressed = True
            _thread.interrupt_main()  # Ctrl-C, in the thread that runs the engine
            self._all_in.set()
        await asyncio.wait_for(self._all_in.wait(), 10)
        await asyncio.sleep(0.2)

        async def spy(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self.created.append(json.loads(message["body"])["id"])
            await send(message)

        await self.app(scope, receive, spy)
        self.in_flight -= 1


def test_ctrl_c_with_eight_creates_in_flight_leaves_nothing_behind(serve: Callable[..., str]) -> None:
    holds: list[HoldCreates] = []

    def hold(app: App) -> App:
        holds.append(HoldCreates(app, wanted=8))
        return holds[0]

    base_url = serve(hold)
    config = CheckConfig.from_options(
        base_url=base_url, token=TOKEN_A, checks="model", seed=3, concurrency=8, environ={}
    )
    events: list[Event] = []
    with pytest.raises(KeyboardInterrupt):
        for event in engine.run(config):
            events.append(event)
    assert holds[0].most == 8
    assert len(holds[0].created) >= 8  # every create in flight was answered
    cleaned = events[-1]
    assert isinstance(cleaned, CleanupFinished) and cleaned.interrupted
    assert cleaned.left == ()
    assert set(holds[0].created) <= set(cleaned.deleted)
    listed = httpx.get(f"{base_url}/sip-trunks", headers={"Authorization": f"Bearer {TOKEN_A}"})
    assert listed.json()["trunks"] == []


@pytest.mark.parametrize("concurrency", [1, 8], ids=["one-at-a-time", "eight-lanes"])
def test_the_correct_mock_passes_the_model_and_the_sequences_in_lanes_or_not(
    serve: Callable[..., str], run_checks: RunChecks, concurrency: int
) -> None:
    base_url = serve()
    finished, _ = run_checks(base_url, "model,sequences", max_examples=48, concurrency=concurrency)
    assert [f"{failure.check}: {failure.title}" for failure in finished.failures] == []
    assert {name: status for name, status in statuses(finished).items() if status != "passed"} == {}
    assert finished.cleanup is not None and finished.cleanup.clean


def test_the_request_budget_holds_for_every_lane_and_the_run_still_cleans_up(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url = serve()
    finished, _ = run_checks(base_url, "model", max_examples=48, concurrency=8, max_requests=150)
    assert finished.notes == (
        "stopped early: --max-requests 150 reached; the results cover the requests sent until then",
    )
    cleaned = finished.cleanup
    assert cleaned is not None and cleaned.clean
    with AdminClient(base_url) as admin:
        sent = admin.requests(token=TOKEN_A)
        assert admin.state()["organizations"][TOKEN_A]["trunks"] == []
    # The cleanup's requests come on top of the budget: two lists, its deletes and restores.
    assert len(sent) - 2 - len(cleaned.deleted) - len(cleaned.restored) <= 150


class RecordCreates:
    """Keeps the body of every create the mock gets."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.bodies: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/sip-trunks":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def spy() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                self.bodies.append(b"".join(chunks).decode())
            return message

        await self.app(scope, spy, send)


def _creates(serve: Callable[..., str], seed: int) -> list[str]:
    recorders: list[RecordCreates] = []

    def record(app: App) -> App:
        recorders.append(RecordCreates(app))
        return recorders[0]

    base_url = serve(record)
    config = CheckConfig.from_options(
        base_url=base_url,
        token=TOKEN_A,
        second_token=TOKEN_B,
        checks="model",
        seed=seed,
        max_examples=24,
        concurrency=4,
        environ={},
    ).replace(run_id="samerun1")
    *_, finished = engine.run(config)
    assert isinstance(finished, RunFinished) and finished.failures == ()
    return sorted(recorders[0].bodies)


def test_the_same_seed_sends_the_same_creates_in_lanes(serve: Callable[..., str]) -> None:
    # Which lane's create reaches the target first may differ; what each lane sends may not.
    first, again, other = _creates(serve, 7), _creates(serve, 7), _creates(serve, 8)
    assert first == again
    assert first != other
    assert any('"name": "sip-trunks-check-samerun1-lane3-' in body for body in first)


def _replay_of(config: CheckConfig) -> str:
    """The replay command the run announces (the run is stopped there, and cleans up)."""
    with closing(engine.run(config)) as events:
        return next(event.replay for event in events if isinstance(event, RunStarted))


def test_without_concurrency_a_near_target_gets_one_lane_and_the_replay_says_so(
    serve: Callable[..., str],
) -> None:
    base_url = serve()  # a mock on the loopback: answers in well under 5 ms
    config = CheckConfig.from_options(base_url=base_url, token=TOKEN_A, checks="model", seed=3, environ={})
    assert config.concurrency == 8 and config.auto_concurrency
    assert "--concurrency 1" in _replay_of(config)
    explicit = CheckConfig.from_options(
        base_url=base_url, token=TOKEN_A, checks="model", seed=3, concurrency=8, environ={}
    )
    assert not explicit.auto_concurrency
    assert "--concurrency" not in _replay_of(explicit)


def test_without_concurrency_a_far_target_keeps_the_lanes(serve: Callable[..., str]) -> None:
    base_url = serve(latency=Latency(20, 20))
    config = CheckConfig.from_options(base_url=base_url, token=TOKEN_A, checks="model", seed=3, environ={})
    assert "--concurrency" not in _replay_of(config)  # 8, the default
