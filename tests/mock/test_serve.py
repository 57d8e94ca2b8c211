"""running_mock over a real loopback socket: start, answer, stop; the size limit on the wire."""

from __future__ import annotations

import gc
import re
import socket
import threading
import time

import httpx
import pytest

from mockserver import MockConfig, running_mock

from .helpers import bearer, trunk_body


def test_base_url_is_loopback_with_a_free_port() -> None:
    with running_mock(MockConfig(access_log=False)) as mock:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", mock.base_url)
        assert httpx.get(f"{mock.base_url}/__admin/health").status_code == 200
        port = int(mock.base_url.rsplit(":", 1)[1])
    # Stopped: the port is free again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_crud_over_the_socket(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers=bearer("socket-org")) as client:
        created = client.post("/sip-trunks", json=trunk_body())
        assert created.status_code == 201
        assert client.get(created.headers["location"]).json() == created.json()
        assert client.delete(created.headers["location"]).status_code == 204
        assert client.delete(created.headers["location"]).status_code == 404


def test_413_over_the_socket_with_and_without_content_length(base_url: str) -> None:
    headers = {**bearer(), "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        assert client.post("/sip-trunks", content=b"x" * 70_000).status_code == 413
        chunked = client.post("/sip-trunks", content=iter([b"x" * 10_000] * 7))
        assert chunked.status_code == 413
        assert chunked.headers["content-type"] == "application/problem+json"


def test_non_utf8_over_the_socket_is_400(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/sip-trunks",
        content=b'{"name": "\xff"}',
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_a_given_app_is_served() -> None:
    from mockserver import Store, create_app

    store = Store()
    with running_mock(app=create_app(MockConfig(access_log=False), store=store)) as mock:
        httpx.post(f"{mock.base_url}/sip-trunks", json=trunk_body(), headers=bearer("given"))
    assert len(store.list_trunks("given")) == 1


def test_an_embedded_mock_prints_nothing_for_the_problems_it_answers() -> None:
    # connexion logs each problem as a warning; with no logging configured, Python's
    # last-resort handler would print them to the embedding program's stderr.
    import subprocess
    import sys

    script = (
        "import httpx\n"
        "from mockserver import MockConfig, running_mock\n"
        "with running_mock(MockConfig(access_log=False)) as mock:\n"
        "    auth = {'Authorization': 'Bearer k'}\n"
        "    answer = httpx.post(mock.base_url + '/sip-trunks', json={}, headers=auth)\n"
        "    assert answer.status_code == 400, answer.status_code\n"
        "    print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "ok\n", result.stderr
    assert "Problem" not in result.stderr


def test_serve_settles_the_heap_once_it_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI turns the collector off for start-up; the server must turn it back on, with
    # what start-up built frozen, shortly after it starts listening.
    import mockserver.serve as serving
    from mockserver import create_app

    monkeypatch.setattr(serving, "HEAP_SETTLE_DELAY", 0.05)
    config = serving.bind_check(MockConfig(port=0, access_log=False))
    server = serving._server(config, create_app(config))
    thread = threading.Thread(target=server.run, daemon=True)
    gc.disable()
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert httpx.get(f"{config.base_url}/sip-trunks", headers=bearer()).status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        gc.unfreeze()
        gc.enable()
