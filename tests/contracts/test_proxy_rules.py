"""The proxy's memory and stateful rules on hand-built exchanges: what each answer is judged against."""

from __future__ import annotations

import base64
import json
from typing import Any

from contracts.proxy.exchange import Exchange, Request, key_hash
from contracts.proxy.memory import Memory
from contracts.proxy.stateful import judge
from contracts.secrets import SecretBook

KEY = "tok-org-a-1f3a"
TRUNK = {
    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "port": 5060,
    "username": "myuser",
    "created_at": "2025-12-13T10:00:00.000Z",
}
PATH = f"/sip-trunks/{TRUNK['id']}"


class Clock:
    """Ticks, as the proxy hands them out: a request starts, later its answer ends."""

    def __init__(self) -> None:
        self.now = 0

    def tick(self) -> int:
        self.now += 1
        return self.now


def exchange(
    clock: Clock,
    method: str,
    path: str,
    status: int,
    answer: Any = None,
    sent: Any = None,
    started: int | None = None,
) -> Exchange:
    request = Request(
        method=method,
        path=path,
        query="",
        headers=[("authorization", f"Bearer {KEY}")],
        body=json.dumps(sent).encode() if sent is not None else b"",
        started=clock.tick() if started is None else started,
    )
    body = json.dumps(answer).encode() if answer is not None else b""
    return Exchange(request, status, [("content-type", "application/json")], body, finished=clock.tick())


def checks(found: list[Any]) -> list[str]:
    return [finding.check for finding in found]


def memory(lines: list[str] | None = None, **caps: int) -> Memory:
    caps = {"max_trunks_per_key": 100, "max_keys": 10, **caps}
    return Memory(say=(lines if lines is not None else []).append, **caps)


def test_a_list_that_omits_a_trunk_is_flagged_only_once_a_later_read_shows_it_still_there() -> None:
    clock, seen = Clock(), memory()
    assert judge(exchange(clock, "POST", "/sip-trunks", 201, TRUNK, sent={"name": "Main Trunk"}), seen) == []
    assert judge(exchange(clock, "GET", "/sip-trunks", 200, {"trunks": []}), seen) == []
    found = judge(exchange(clock, "GET", PATH, 200, TRUNK), seen)
    assert checks(found) == ["list_matches_model"]
    assert "existed before it and after it" in found[0].detail


def test_a_trunk_deleted_behind_the_proxys_back_is_forgotten_not_flagged() -> None:
    clock, seen = Clock(), memory()
    judge(exchange(clock, "POST", "/sip-trunks", 201, TRUNK, sent={}), seen)
    assert judge(exchange(clock, "GET", "/sip-trunks", 200, {"trunks": []}), seen) == []
    assert judge(exchange(clock, "GET", PATH, 404), seen) == []
    assert judge(exchange(clock, "GET", "/sip-trunks", 200, {"trunks": []}), seen) == []


def test_a_read_that_began_before_the_delete_ended_may_still_see_the_trunk() -> None:
    clock, seen = Clock(), memory()
    judge(exchange(clock, "POST", "/sip-trunks", 201, TRUNK, sent={}), seen)
    early = clock.tick()  # a GET starts while the DELETE is in flight
    judge(exchange(clock, "DELETE", PATH, 204), seen)
    assert judge(exchange(clock, "GET", PATH, 200, TRUNK, started=early), seen) == []
    assert checks(judge(exchange(clock, "GET", PATH, 200, TRUNK), seen)) == ["delete_removes_trunk"]
    assert checks(judge(exchange(clock, "DELETE", PATH, 204), seen)) == ["delete_removes_trunk"]


def test_a_trunk_first_seen_in_an_answer_is_learned_and_later_answers_must_agree() -> None:
    clock, seen = Clock(), memory()
    assert judge(exchange(clock, "GET", "/sip-trunks", 200, {"trunks": [TRUNK]}), seen) == []
    found = judge(exchange(clock, "GET", PATH, 200, {**TRUNK, "port": 5080}), seen)
    assert checks(found) == ["get_matches_create"]
    assert found[0].detail.endswith("got another port")


def test_another_keys_trunk_in_an_answer_is_a_leak() -> None:
    clock, seen = Clock(), memory()
    seen.learn(key_hash("another key"), TRUNK, clock.tick())
    assert checks(judge(exchange(clock, "GET", "/sip-trunks", 200, {"trunks": [TRUNK]}), seen)) == [
        "isolation_list"
    ]
    assert checks(judge(exchange(clock, "DELETE", PATH, 204), seen)) == ["isolation_delete"]


def test_memory_forgets_the_oldest_past_its_caps_and_says_so_once_per_cap() -> None:
    lines: list[str] = []
    clock, seen = Clock(), memory(lines, max_trunks_per_key=2, max_keys=2)
    for n in range(4):
        seen.learn("k1", {**TRUNK, "id": f"trunk-{n}"}, clock.tick())
    for key in ("k2", "k3", "k4"):
        seen.of(key)
    assert list(seen.of("k4").trunks) == []
    assert seen.keys == 2
    assert lines == [
        "proxy: memory full (facts of one key); forgetting the oldest from now on (said once)",
        "proxy: memory full (API keys); forgetting the oldest from now on (said once)",
    ]


def test_all_keys_facts_together_are_capped_least_recent_key_first_and_the_count_stays_exact() -> None:
    lines: list[str] = []
    clock, seen = Clock(), memory(lines, max_trunks_per_key=100, max_keys=100, max_facts=10)
    for key in ("k1", "k2", "k3"):
        for n in range(4):
            seen.learn(key, {**TRUNK, "id": f"{key}-trunk-{n}"}, clock.tick())
    seen.of("k2").deleted.put("k2-gone", clock.tick())
    seen.of("k2").trunks.pop("k2-trunk-0")
    seen.of("k2").trunks.pop("never-seen")  # not there: nothing to count
    seen.of("k3")  # in use now: k1, then k2 are the least recent
    # k1's 4 facts went as k3's 4th trunk came (11 over 10); then 1 deletion in, 1 trunk out.
    assert seen.facts == 8 == sum(seen.of(key).facts for key in ("k2", "k3"))
    assert seen.keys == 2 and list(seen.of("k2").trunks) == ["k2-trunk-1", "k2-trunk-2", "k2-trunk-3"]
    seen.learn("k3", {**TRUNK, "id": "k3-trunk-4"}, clock.tick())
    for n in range(5, 9):
        seen.learn("k3", {**TRUNK, "id": f"k3-trunk-{n}"}, clock.tick())
    assert seen.keys == 1 and seen.facts == 9  # k2 forgotten; the key in use never is
    assert lines == ["proxy: memory full (facts of all keys); forgetting the oldest from now on (said once)"]


def test_a_kept_password_is_found_in_any_encoding_and_the_oldest_is_forgotten_past_the_limit() -> None:
    book = SecretBook(nonce="proxy")
    assert not book.keep("short")  # under 8 characters: would match by chance
    assert not book.keep("Main Trunk 2026", beside=["Main Trunk 2026 backup"])  # echoed as a name
    assert book.keep("s3cret-Pass-2026", limit=2)
    basic = base64.b64encode(b"sip-proxy:s3cret-Pass-2026").decode()
    leak = book.find({"X-Upstream": f"Basic {basic}"}, b"")
    assert leak is not None and leak.form == "the base64 text"
    book.keep("second-Pass-2026", limit=2)
    book.keep("third-Pass-2026!", limit=2)
    assert book.find({}, b'{"detail": "s3cret-Pass-2026"}') is None
    assert book.find({}, b'{"detail": "third-Pass-2026!"}') is not None
    # A name that holds a password sent elsewhere is the name, not a leak.
    assert book.find({}, b'{"name": "third-Pass-2026!"}') is None


def test_with_hundreds_of_passwords_the_indexed_search_finds_what_a_linear_one_would() -> None:
    # Past 64 needles the book looks only at needles whose first 8 characters occur in the text.
    book = SecretBook(nonce="proxy")
    passwords = [f"Pass/{n:04d} é-word" for n in range(300)]
    for password in passwords:
        book.keep(password, limit=250)
    basic = base64.b64encode(f"sip-proxy:{passwords[-1]}".encode()).decode()
    escaped = json.dumps({"detail": passwords[100]})
    assert book.find({"X-Upstream": f"Basic {basic}"}, b"").form == "the base64 text"
    assert book.find({}, escaped.encode()).form == "the JSON-escaped text"
    assert book.find({}, json.dumps({"detail": passwords[10]}).encode()) is None  # forgotten: past 250
    assert book.find({"Location": "/sip-trunks/6f1c2d3e"}, json.dumps(TRUNK).encode()) is None
