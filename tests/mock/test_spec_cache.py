"""SpecDocumentCache: connexion builds a spec document once per (path, root_path), then memory serves it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from mockserver.http.middleware.spec_cache import SpecDocumentCache

pytestmark = pytest.mark.anyio

PATHS = frozenset({"/openapi.json"})


class Builder:
    """Stands for connexion: counts the documents it builds and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.built = 0
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.built += 1
        body = json.dumps({"servers": [{"url": scope.get("root_path", "") or "/"}], "n": self.built}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def client(app: Any, root_path: str = "") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url="http://mock")


async def test_the_second_get_is_served_from_memory_with_the_same_bytes() -> None:
    builder = Builder()
    async with client(SpecDocumentCache(builder, PATHS)) as http:
        first = await http.get("/openapi.json")
        second = await http.get("/openapi.json")
    assert builder.built == 1
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"


async def test_each_root_path_has_its_own_document() -> None:
    builder = Builder()
    cache = SpecDocumentCache(builder, PATHS)
    async with client(cache) as plain, client(cache, root_path="/proxy") as behind:
        assert (await plain.get("/openapi.json")).json()["servers"] == [{"url": "/"}]
        assert (await behind.get("/proxy/openapi.json")).json()["servers"] == [{"url": "/proxy"}]
        assert (await behind.get("/proxy/openapi.json")).json()["servers"] == [{"url": "/proxy"}]
    assert builder.built == 2


async def test_errors_other_methods_and_other_paths_are_not_kept() -> None:
    failing = Builder(status=503)
    async with client(SpecDocumentCache(failing, PATHS)) as http:
        await http.get("/openapi.json")
        await http.get("/openapi.json")
    assert failing.built == 2
    builder = Builder()
    async with client(SpecDocumentCache(builder, PATHS)) as http:
        await http.post("/openapi.json")
        await http.get("/sip-trunks")
        await http.get("/sip-trunks")
    assert builder.built == 3


async def test_headers_added_by_outer_layers_do_not_stick_to_the_kept_answer() -> None:
    builder = Builder()
    cache = SpecDocumentCache(builder, PATHS)

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        async def add_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-outer", b"1"))
            await send(message)

        await cache(scope, receive, add_header)

    async with client(outer) as http:
        for _ in range(3):
            response = await http.get("/openapi.json")
            assert response.headers.get_list("x-outer") == ["1"]
    assert builder.built == 1


async def test_the_mock_serves_its_spec_document_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from connexion.spec import Specification

    from mockserver import create_app

    app = create_app()
    async with client(app) as http:
        first = await http.get("/openapi.json")
        monkeypatch.setattr(Specification, "with_base_path", _not_again)
        second = await http.get("/openapi.json")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content


def _not_again(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("connexion rebuilt the spec document")
