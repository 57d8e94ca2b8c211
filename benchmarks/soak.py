"""`make soak`: clients of two tokens churn trunks and links; the mock's state must match their ledgers.

With ``--replicas N`` the mock runs as N processes on one throwaway redis-server
(``--store redis://...``) and every client sends each request to the next replica in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.servers import (
    DEFAULT_OURS_CMD,
    HOST,
    ServerUnavailable,
    ours_spec,
    rss_mib,
    running,
    stop_on_sigterm,
    throwaway_redis,
)

TOKENS = ("soak-org-a", "soak-org-b")
EXTRA_PORTS: list[int] = []
"""The other replicas' ports (``--replicas``): each client's requests go round the replicas."""
MAX_TRUNKS_PER_CLIENT = 20
"""Each client deletes rather than creates above this, keeping every org far below the mock's cap."""
FIELDS = ("name", "host", "port", "username")
Json = dict[str, Any]


class SoakFailure(AssertionError):
    """A client saw an answer that its ledger says is wrong."""


@dataclass
class Ledger:
    """What one client knows it did: its trunks, and the link of the one phone number it owns (if any)."""

    token: str
    number_id: str | None
    trunks: dict[str, Json] = field(default_factory=dict)
    link: str | None = None
    requests: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    route: Iterator[str] = field(default_factory=lambda: itertools.repeat(""))  # base URL of each request


def trunk_body(rng: random.Random, serial: int) -> Json:
    """A valid create body; the port is left out half the time to exercise the spec's default of 5060."""
    body: Json = {"name": f"soak {serial}", "host": f"sip{serial}.example.com", "username": f"u{serial}"}
    body["password"] = f"secret-{serial}"
    if rng.random() < 0.5:
        body["port"] = rng.randint(1, 65535)
    return body


def expected_trunk(body: Json) -> Json:
    """What the server must answer for a trunk created with `body` (no password, port defaulted)."""
    return {"port": 5060, **{key: body[key] for key in FIELDS if key in body}}


async def call(
    client: httpx.AsyncClient, ledger: Ledger, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One request, counted; a 5xx is recorded as a failure."""
    response = await client.request(method, next(ledger.route) + path, **kwargs)
    ledger.requests += 1
    if response.status_code >= 500:
        ledger.server_errors += 1
        ledger.failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return response


def expect(ledger: Ledger, response: httpx.Response, status: int) -> bool:
    """Record a failure unless `response` has `status`."""
    if response.status_code == status:
        return True
    what = f"{response.request.method} {response.request.url.path}"
    ledger.failures.append(f"{what}: expected {status}, got {response.status_code} {response.text[:200]}")
    return False


async def create(client: httpx.AsyncClient, ledger: Ledger, rng: random.Random) -> None:
    """POST a trunk and remember it."""
    body = trunk_body(rng, ledger.requests)
    response = await call(client, ledger, "POST", "/sip-trunks", json=body)
    if expect(ledger, response, 201):
        ledger.trunks[response.json()["id"]] = expected_trunk(body)


async def read(client: httpx.AsyncClient, ledger: Ledger, rng: random.Random) -> None:
    """GET one of this client's trunks and compare it with the ledger."""
    trunk_id = rng.choice(sorted(ledger.trunks))
    response = await call(client, ledger, "GET", f"/sip-trunks/{trunk_id}")
    if expect(ledger, response, 200) and subset(response.json()) != ledger.trunks[trunk_id]:
        ledger.failures.append(
            f"GET /sip-trunks/{trunk_id}: {response.json()} != ledger {ledger.trunks[trunk_id]}"
        )


async def link(client: httpx.AsyncClient, ledger: Ledger, rng: random.Random) -> None:
    """PATCH this client's phone number to one of its trunks, or to null now and then."""
    target = rng.choice([*sorted(ledger.trunks), None])
    response = await call(
        client, ledger, "PATCH", f"/phone-numbers/{ledger.number_id}", json={"transfer_trunk_id": target}
    )
    if expect(ledger, response, 200):
        ledger.link = target


async def delete(client: httpx.AsyncClient, ledger: Ledger, rng: random.Random) -> None:
    """DELETE one of this client's trunks; its phone number must lose the link in the same step."""
    trunk_id = rng.choice(sorted(ledger.trunks))
    response = await call(client, ledger, "DELETE", f"/sip-trunks/{trunk_id}")
    if not expect(ledger, response, 204):
        return
    del ledger.trunks[trunk_id]
    if ledger.link == trunk_id:
        ledger.link = None
        if ledger.number_id is not None:
            number = await call(client, ledger, "GET", f"/phone-numbers/{ledger.number_id}")
            if expect(ledger, number, 200) and number.json()["transfer_trunk_id"] is not None:
                ledger.failures.append(
                    f"stale link right after DELETE /sip-trunks/{trunk_id}: {number.json()}"
                )


def subset(trunk: Json) -> Json:
    """The fields of a trunk that a ledger predicts."""
    return {key: trunk.get(key) for key in FIELDS}


async def run_client(port: int, ledger: Ledger, seed: int, deadline: float) -> None:
    """Create, read, link and delete at random until the deadline, keeping the ledger."""
    rng = random.Random(seed)
    ledger.route = itertools.cycle([f"http://{HOST}:{each}" for each in [port, *EXTRA_PORTS]])
    headers = {"Authorization": f"Bearer {ledger.token}"}
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            if not ledger.trunks or (len(ledger.trunks) < MAX_TRUNKS_PER_CLIENT and rng.random() < 0.35):
                await create(client, ledger, rng)
            elif len(ledger.trunks) >= MAX_TRUNKS_PER_CLIENT or rng.random() < 0.3:
                await delete(client, ledger, rng)
            elif ledger.number_id is not None and rng.random() < 0.4:
                await link(client, ledger, rng)
            else:
                await read(client, ledger, rng)


async def phone_numbers(port: int, token: str) -> list[Json]:
    """The organization's phone numbers, oldest first."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        response = await client.get("/phone-numbers", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        numbers: list[Json] = response.json()["phone_numbers"]
        return numbers


async def make_ledgers(port: int, clients_per_token: int) -> list[Ledger]:
    """One ledger per client; client i of a token owns that token's i-th phone number (none past the last)."""
    ledgers: list[Ledger] = []
    for token in TOKENS:
        numbers = await phone_numbers(port, token)
        for index in range(clients_per_token):
            ledgers.append(Ledger(token, numbers[index]["id"] if index < len(numbers) else None))
    return ledgers


async def compare(port: int, ledgers: list[Ledger], initial: dict[str, list[Json]]) -> list[str]:
    """How the server's state differs from the ledgers: lost, phantom or changed trunks, wrong links."""
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        for token in TOKENS:
            headers = {"Authorization": f"Bearer {token}"}
            trunks = {
                t["id"]: subset(t)
                for t in (await client.get("/sip-trunks", headers=headers)).json()["trunks"]
            }
            numbers = (await client.get("/phone-numbers", headers=headers)).json()["phone_numbers"]
            mine = [ledger for ledger in ledgers if ledger.token == token]
            problems += compare_trunks(token, trunks, mine)
            problems += compare_links(token, trunks, numbers, mine, initial[token])
    return problems


def compare_trunks(token: str, server: dict[str, Json], ledgers: list[Ledger]) -> list[str]:
    """Lost (in a ledger, not on the server), phantom (the reverse) and changed trunks of one organization."""
    expected = {trunk_id: trunk for ledger in ledgers for trunk_id, trunk in ledger.trunks.items()}
    problems = [f"{token}: lost trunk {trunk_id}" for trunk_id in expected.keys() - server.keys()]
    problems += [f"{token}: phantom trunk {trunk_id}" for trunk_id in server.keys() - expected.keys()]
    problems += [
        f"{token}: trunk {trunk_id} is {server[trunk_id]}, ledger says {trunk}"
        for trunk_id, trunk in expected.items()
        if trunk_id in server and server[trunk_id] != trunk
    ]
    return problems


def compare_links(
    token: str, trunks: dict[str, Json], numbers: list[Json], ledgers: list[Ledger], initial: list[Json]
) -> list[str]:
    """Each number's link must be its owner's ledger's (unchanged if unowned) and name a live trunk."""
    owned = {ledger.number_id: ledger.link for ledger in ledgers if ledger.number_id is not None}
    before = {number["id"]: number["transfer_trunk_id"] for number in initial}
    problems: list[str] = []
    if {number["id"] for number in numbers} != before.keys():
        problems.append(
            f"{token}: phone numbers changed from {sorted(before)} to {[n['id'] for n in numbers]}"
        )
    for number in numbers:
        link = number["transfer_trunk_id"]
        if link is not None and link not in trunks:
            problems.append(f"{token}: stale link, {number['id']} -> deleted trunk {link}")
        wanted = owned.get(number["id"], before.get(number["id"]))
        if link != wanted:
            problems.append(f"{token}: {number['id']} links {link}, ledger says {wanted}")
    return problems


async def report_progress(
    ledgers: list[Ledger], rss: Callable[[], float], every: float, deadline: float
) -> None:
    """Every ``every`` seconds until the deadline, one line on stderr: requests, 5xx and the mock's RSS.

    A long soak shows it is alive, and the RSS column shows whether memory stays flat.
    """
    start = time.monotonic()
    while (remaining := deadline - time.monotonic()) > every:
        await asyncio.sleep(every)
        requests = sum(ledger.requests for ledger in ledgers)
        errors = sum(ledger.server_errors for ledger in ledgers)
        elapsed = time.monotonic() - start
        print(
            f"soak: {elapsed:5.0f} s  {requests:>9} requests  5xx {errors}  RSS {rss():.1f} MiB"
            f"  ({remaining - every:.0f} s left)",
            file=sys.stderr,
            flush=True,
        )


async def soak(
    port: int, seconds: float, clients_per_token: int, seed: int, rss: Callable[[], float], every: float
) -> tuple[list[Ledger], list[str]]:
    """Run every client until the deadline, then compare the server's state with their ledgers."""
    initial = {token: await phone_numbers(port, token) for token in TOKENS}
    ledgers = await make_ledgers(port, clients_per_token)
    deadline = time.monotonic() + seconds
    clients = (run_client(port, ledger, seed + i, deadline) for i, ledger in enumerate(ledgers))
    await asyncio.gather(*clients, report_progress(ledgers, rss, every, deadline))
    return ledgers, await compare(port, ledgers, initial)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30, help="how long the clients run (default 30)")
    parser.add_argument(
        "--clients", type=int, default=3, help="clients per token (default 3; 3 own a number)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the clients' random choices (default 0)")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=10,
        help="seconds between progress lines on stderr (default 10)",
    )
    parser.add_argument("--ours-cmd", default=DEFAULT_OURS_CMD, help="command starting our mock, with {port}")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="mock processes on one throwaway redis-server, requests round-robin (default 1: in memory)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak: 0 when state equals the ledgers with no 5xx, 1 otherwise, 2 if the mock cannot start."""
    args = parse_args(argv)
    stop_on_sigterm()
    try:
        with contextlib.ExitStack() as stack:
            command = args.ours_cmd
            if args.replicas > 1:
                redis = stack.enter_context(throwaway_redis())
                command = f"{command} --store redis://{HOST}:{redis.port}/0"
            servers = [stack.enter_context(running(ours_spec(command))) for _ in range(args.replicas)]
            EXTRA_PORTS[:] = [server.port for server in servers[1:]]
            pids = [server.process.pid for server in servers]

            def rss() -> float:
                return sum(rss_mib(pid) for pid in pids)

            rss_before = rss()
            ledgers, problems = asyncio.run(
                soak(servers[0].port, args.seconds, args.clients, args.seed, rss, args.progress_every)
            )
            rss_after = rss()
    except (ServerUnavailable, OSError) as exc:
        print(f"soak: the mock cannot start: {exc}", file=sys.stderr)
        return 2
    problems += [failure for ledger in ledgers for failure in ledger.failures]
    requests = sum(ledger.requests for ledger in ledgers)
    errors = sum(ledger.server_errors for ledger in ledgers)
    where = f" through {args.replicas} replicas on one Redis" if args.replicas > 1 else ""
    clients = f"{len(ledgers)} clients, {len(TOKENS)} tokens"
    print(f"soak: {clients}, {args.seconds:g} s, {requests} requests{where}")
    print(f"soak: trunks left per ledger: {[len(ledger.trunks) for ledger in ledgers]}; 5xx: {errors}")
    print(f"soak: RSS {rss_before:.1f} MiB before, {rss_after:.1f} MiB after")
    for problem in problems[:50]:
        print(f"MISMATCH {problem}")
    print(
        f"soak: {'FAILED, ' + str(len(problems)) + ' mismatches' if problems else 'state equals the ledgers'}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
