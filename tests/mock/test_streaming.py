"""Large admin answers (state, journal): streamed, equal to the whole documents, the loop kept turning."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from mockserver import MockConfig, Store, create_app
from mockserver.controls.journal import Journal
from mockserver.http.state_document import BATCH, state_pieces
from mockserver.http.streaming import chunks, list_document

from .helpers import TOKEN_A, TOKEN_B, bearer, trunk_body

pytestmark = pytest.mark.anyio


def filled_store(trunks: int, per_organization: int = 1000) -> Store:
    store = Store(max_trunks=per_organization)
    for index in range(trunks):
        store.create_trunk(
            f"org-{index // per_organization}", name=f"trunk {index}", host="sip.example.com", username="u",
            password="never-exported",
        )  # fmt: skip
    return store


def test_the_state_pieces_are_the_export_document() -> None:
    store = filled_store(2 * BATCH + 7, per_organization=BATCH + 3)  # batches cut inside organizations
    store.import_state({"organizations": {**store.export_state()["organizations"], "no-trunks": {}}})
    text = "".join(state_pieces(store.snapshot()))
    assert json.loads(text) == store.export_state()
    assert "never-exported" not in text


def test_an_empty_state() -> None:
    assert "".join(state_pieces(Store().snapshot())) == '{"organizations": {}}'


def test_the_snapshot_is_the_state_when_it_was_taken() -> None:
    store = filled_store(3)
    pieces = state_pieces(store.snapshot())
    store.create_trunk("org-0", name="later", host="h", username="u", password="p")
    store.reset()
    assert len(json.loads("".join(pieces))["organizations"]["org-0"]["trunks"]) == 3


def test_a_list_document_skips_pauses() -> None:
    assert "".join(list_document({"size": 3}, "requests", [None, {"id": 1}, None, {"id": 2}, None])) == (
        '{"size": 3, "requests": [{"id": 1}, {"id": 2}]}'
    )
    assert "".join(list_document({"size": 0}, "requests", [])) == '{"size": 0, "requests": []}'


async def test_chunks_hand_the_loop_back_between_slices_of_work() -> None:
    def slow_pieces() -> Iterator[str]:
        for index in range(40):
            until = time.perf_counter() + 0.002  # 2 ms of work per piece: 80 ms in all
            while time.perf_counter() < until:
                pass
            yield f"{index},"

    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    body = b"".join([chunk async for chunk in chunks(slow_pieces(), slice_seconds=0.005)])
    other.cancel()
    assert body == "".join(f"{index}," for index in range(40)).encode()
    assert turns >= 8  # without pauses: 1 (the other task never runs while the pieces are made)


def test_the_journal_iterates_as_it_lists() -> None:
    journal = Journal(200)
    for index in range(150):
        body = json.dumps({"password": f"secret-{index}"}).encode()
        journal.record(started=0.0, method="POST", path=f"/x/secret-{index}", status=201, duration_ms=1.0,
                       org=None, request_body=body)  # fmt: skip
    entries = journal.iter_entries()
    journal.clear()  # iter_entries() read the journal when it was called
    items = list(entries)
    assert items.count(None) == 2  # a pause every 64 requests read while collecting secrets
    listed = [item for item in items if item is not None]
    assert len(listed) == 150 and "secret-" not in json.dumps(listed)


# Over the app: the loop keeps turning while a large answer is built --------------------------


async def _longest_stall(client: httpx.AsyncClient, path: str) -> tuple[float, float, httpx.Response]:
    """The longest gap between two turns of the loop while ``GET path`` is answered, and its duration."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    began = time.perf_counter()
    response = await client.get(path, timeout=120)
    took = time.perf_counter() - began
    await asyncio.sleep(0.01)  # the ticker records the gap that ended with the answer
    ticking.cancel()
    return max(gaps), took, response


@pytest.mark.parametrize("path", ["/__admin/state", "/__admin/requests"])
async def test_a_large_admin_answer_never_stops_the_loop(path: str) -> None:
    # 60,000 trunks (~10 MB of JSON), or a journal of 2,000 requests with 16 KiB bodies (~40 MB):
    # built in one step, either stopped every other request for most of its answer's time.
    config = MockConfig(access_log=False, max_trunks=1000, journal_size=2000)
    store = filled_store(60_000) if path == "/__admin/state" else Store()
    app = create_app(config, store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        if path == "/__admin/requests":
            # Answered by an injected 503 (quick), each kept in the journal with its 16 KiB body.
            await client.post(
                "/__admin/faults", json={"method": "POST", "path": "/sip-trunks", "status": 503}
            )
            padded = json.dumps({**trunk_body(), "pad": "x" * 16000}).encode()
            for token in (TOKEN_A, TOKEN_B) * 1000:
                headers = {**bearer(token), "Content-Type": "application/json"}
                assert (await client.post("/sip-trunks", content=padded, headers=headers)).status_code == 503
        stall, took, response = await _longest_stall(client, path)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert len(response.content) > 5_000_000
    json.loads(response.content)
    # Generous: the machine may be loaded, but a stall is most of the answer's time.
    assert stall < max(0.1, took / 4), f"the loop stood still {stall:.3f} s of {took:.3f} s"
