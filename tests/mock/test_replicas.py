"""Replicas on one Redis: two mock processes behind a round-robin balancer behave as one mock.

The issue's acceptance test: the full ``sip-trunks check`` passes through the balancer; a
replica killed with SIGKILL loses nothing it acknowledged; a 5/s limit lets ~5 requests a
second through across both replicas, not 10; fault counters are global; Redis lost while
serving is a 503 with Retry-After and the replicas recover by themselves; Redis unreachable
at start is exit 2 with the URL, password masked.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from .helpers import bearer, trunk_body
from .redis_server import Balancer, RedisServer, serving, spawn_mock, stop_process


@pytest.fixture
def replicas(redis_url: str) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    started = [spawn_mock(redis_url), spawn_mock(redis_url)]
    try:
        yield started
    finally:
        for process, _ in started:
            stop_process(process)


@pytest.fixture
def balanced(replicas: list[tuple[subprocess.Popen[bytes], str]]) -> Iterator[str]:
    balancer = Balancer([url for _, url in replicas])
    with serving(balancer) as url:
        yield url
    assert all(count > 0 for count in balancer.counts.values()), balancer.counts


def test_a_trunk_created_on_one_replica_is_on_the_other(
    replicas: list[tuple[subprocess.Popen[bytes], str]],
) -> None:
    (_, first), (_, second) = replicas
    created = httpx.post(f"{first}/sip-trunks", json=trunk_body(), headers=bearer()).json()
    assert httpx.get(f"{second}/sip-trunks/{created['id']}", headers=bearer()).json() == created
    number = httpx.get(f"{second}/phone-numbers", headers=bearer()).json()["phone_numbers"][0]
    linked = httpx.patch(
        f"{second}/phone-numbers/{number['id']}", json={"transfer_trunk_id": created["id"]}, headers=bearer()
    )
    assert linked.status_code == 200
    assert httpx.delete(f"{first}/sip-trunks/{created['id']}", headers=bearer()).status_code == 204
    after = httpx.get(f"{second}/phone-numbers/{number['id']}", headers=bearer()).json()
    assert after["transfer_trunk_id"] is None


def test_the_full_check_passes_through_the_balancer(redis_url: str) -> None:
    # Only the check's two keys are accepted, as by the mock the check embeds: its auth checks need a 401.
    keys = ("--token", "replica-check-a", "--token", "replica-check-b")
    started = [spawn_mock(redis_url, *keys), spawn_mock(redis_url, *keys)]
    balancer = Balancer([url for _, url in started])
    try:
        with serving(balancer) as balanced:
            result = _check(balanced)
    finally:
        for process, _ in started:
            stop_process(process)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "CONFORMANT" in result.stdout
    assert min(balancer.counts.values()) > 1000, balancer.counts


def _check(balanced: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from sip_trunks_openapi.cli import main; main()",
            "check",
            "--base-url",
            balanced,
            "--token",
            "replica-check-a",
            "--second-token",
            "replica-check-b",
            "--yes",
            "--seed",
            "2026",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_sigkill_of_a_replica_loses_nothing_acknowledged(
    replicas: list[tuple[subprocess.Popen[bytes], str]],
) -> None:
    (victim, first), (_, second) = replicas
    created = []
    with httpx.Client(base_url=first, headers=bearer()) as client:
        for index in range(50):
            answer = client.post("/sip-trunks", json=trunk_body(name=f"t{index}"))
            assert answer.status_code == 201
            created.append(answer.json()["id"])
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    listed = httpx.get(f"{second}/sip-trunks", headers=bearer()).json()["trunks"]
    assert sorted(trunk["id"] for trunk in listed) == sorted(created)


def test_a_rate_limit_is_global_across_replicas(balanced: str) -> None:
    assert httpx.put(f"{balanced}/__admin/rate-limit", json={"rate": "5/s"}).status_code == 200
    allowed = refused = 0
    with httpx.Client(base_url=balanced, headers=bearer()) as client:
        started = time.monotonic()
        while time.monotonic() - started < 3.0:
            status = client.get("/sip-trunks").status_code
            allowed += status == 200
            refused += status == 429
        elapsed = time.monotonic() - started
    # A bucket of 5 refilled at 5/s: at most 5 + 5 per second in all, not twice that.
    assert refused > 0
    assert allowed <= 5 + 5 * elapsed + 1, (allowed, elapsed)
    assert allowed >= 5 + 5 * 2.0, (allowed, elapsed)  # and the refill is not lost either


def test_fault_counters_are_global(balanced: str) -> None:
    fault = {"method": "GET", "path": "/sip-trunks", "status": 503, "times": 2}
    assert httpx.post(f"{balanced}/__admin/faults", json=fault).status_code == 201
    statuses = [httpx.get(f"{balanced}/sip-trunks", headers=bearer()).status_code for _ in range(6)]
    assert statuses == [503, 503, 200, 200, 200, 200]
    (listed,) = httpx.get(f"{balanced}/__admin/faults").json()["faults"]
    assert (listed["hits"], listed["remaining"]) == (2, 0)
    assert httpx.post(f"{balanced}/__admin/reset").status_code == 204
    assert httpx.get(f"{balanced}/__admin/faults").json()["faults"] == []


def test_redis_lost_is_503_with_retry_after_then_recovery(
    redis_server: RedisServer, replicas: list[tuple[subprocess.Popen[bytes], str]]
) -> None:
    (_, first), (_, second) = replicas
    assert httpx.post(f"{first}/sip-trunks", json=trunk_body(), headers=bearer()).status_code == 201
    redis_server.stop()
    for url in (first, second):
        for path in ("/sip-trunks", "/__admin/health"):
            answer = httpx.get(f"{url}{path}", headers=bearer(), timeout=20)
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.headers["content-type"] == "application/problem+json"
            assert redis_server.url.split("/0")[0] in answer.json()["detail"]
    redis_server.start()  # no persistence: the state is gone, the replicas initialize it again
    for url in (first, second):
        answer = httpx.get(f"{url}/sip-trunks", headers=bearer(), timeout=20)
        assert answer.status_code == 200 and answer.json() == {"trunks": []}
    assert httpx.post(f"{second}/sip-trunks", json=trunk_body(), headers=bearer()).status_code == 201


def test_redis_unreachable_at_start_is_exit_2_with_the_password_masked() -> None:
    from .redis_server import free_port

    url = f"redis://:hunter2secret@127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-c", "from sip_trunks_openapi.cli import main; main()", "mock", "--store", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "hunter2secret" not in result.stderr, result.stderr
    assert lines[0].startswith("Error: Redis at redis://:***@127.0.0.1:")
    assert "cannot be reached" in lines[0]


def test_a_replica_started_with_other_settings_is_refused(redis_url: str) -> None:
    process, _ = spawn_mock(redis_url, "--max-trunks", "10")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from sip_trunks_openapi.cli import main; main()",
                "mock",
                "--store",
                redis_url,
                "--port",
                "0",
                "--max-trunks",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop_process(process)
    assert result.returncode == 2
    assert "already holds the state of a mock started with other settings" in result.stderr


def test_workers_share_one_port_and_one_state(redis_url: str) -> None:
    process, url = spawn_mock(redis_url, "--workers", "2")
    try:
        for index in range(20):
            # A new connection each time, so that both workers take some.
            answer = httpx.post(f"{url}/sip-trunks", json=trunk_body(name=f"w{index}"), headers=bearer())
            assert answer.status_code == 201
        assert len(httpx.get(f"{url}/sip-trunks", headers=bearer()).json()["trunks"]) == 20
    finally:
        stop_process(process, keep_output=True)
    assert process.returncode == 0
    assert process.stderr is not None
    assert process.stderr.read().decode().count("Started server process") == 2
