"""The fast path: what it serves, and that it answers every request exactly as connexion alone does."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

import mockserver.http.app as app_module
from mockserver import MockConfig, Store, create_app
from mockserver.http.compiled import compile_check, to_json_schema
from mockserver.http.fastpath import FastPathMiddleware, operations
from mockserver.http.fastpath.operation import Operation

from .helpers import TOKEN_A, TickingClock, bearer, trunk_body

pytestmark = pytest.mark.anyio


class _Off:
    """Stands in for the fast path: connexion alone serves every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _store() -> Store:
    # Same ids and clock in both apps, so their answers can be compared byte for byte.
    counter = itertools.count()
    return Store(clock=TickingClock(), new_id=lambda: str(uuid.UUID(int=next(counter), version=4)))


@pytest.fixture
async def both(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    config = MockConfig(validate_responses=True, max_trunks=3)
    fast = create_app(config, store=_store())
    monkeypatch.setattr(app_module, "FastPathMiddleware", _Off)
    slow = create_app(config, store=_store())
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://mock") for a in (fast, slow)
    ]
    async with clients[0], clients[1]:
        yield clients[0], clients[1]


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**bearer(), "Content-Type": "application/json", **headers}


TRUNK_ID = "00000000-0000-4000-8000-000000000000"  # the first id _store() hands out

# (method, path, body bytes or None, extra headers): valid requests and every way to be refused.
REQUESTS: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/sip-trunks", None, bearer()),
    ("POST", "/sip-trunks", json.dumps(trunk_body()).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(port=5080)).encode(), _json({})),
    ("GET", f"/sip-trunks/{TRUNK_ID}", None, bearer()),
    ("GET", "/sip-trunks", None, bearer()),
    ("GET", "/sip-trunks/not-a-uuid", None, bearer()),
    ("GET", "/sip-trunks/%20", None, bearer()),
    ("GET", "/sip-trunks", None, bearer("other-org")),
    ("GET", "/sip-trunks?debug=1", None, bearer()),
    ("GET", "/sip-trunks?", None, bearer()),
    ("GET", "/sip-trunks", b"ignored", {**bearer(), "Content-Type": "text/plain"}),
    ("HEAD", "/sip-trunks", None, bearer()),
    ("GET", "/sip-trunks", None, {}),
    ("GET", "/sip-trunks", None, {"Authorization": "Bearer"}),
    ("GET", "/sip-trunks", None, {"Authorization": "Bearer  "}),
    ("GET", "/sip-trunks", None, {"Authorization": "bearer  spaced-token "}),
    ("GET", "/sip-trunks", None, {"Authorization": "Basic dXNlcjpwYXNz"}),
    ("POST", "/sip-trunks", json.dumps(trunk_body(port=5060.0)).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(port=True)).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(port=2**70)).encode(), _json({})),
    (
        "POST",
        "/sip-trunks",
        b'{"name": "n", "host": "h", "username": "u", "password": "p", "port": NaN}',
        _json({}),
    ),
    ("POST", "/sip-trunks", json.dumps(trunk_body(host="sip.example.com\n")).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(host="[2001:db8::1]")).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(name="\u00e9" * 255)).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(name="\U0001f600" * 256)).encode(), _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body(extra=1)).encode(), _json({})),
    ("POST", "/sip-trunks", b'{"name": "\\ud800", "host": "h", "username": "u", "password": "p"}', _json({})),
    (
        "POST",
        "/sip-trunks",
        json.dumps(trunk_body()).encode(),
        _json({"Content-Type": "application/json; charset=utf-8"}),
    ),
    (
        "POST",
        "/sip-trunks",
        json.dumps(trunk_body()).encode(),
        _json({"Content-Type": "application/json; charset=latin-1"}),
    ),
    ("POST", "/sip-trunks", json.dumps(trunk_body()).encode(), _json({"Content-Type": "Application/JSON"})),
    ("POST", "/sip-trunks", json.dumps(trunk_body()).encode(), _json({"Content-Type": "text/plain"})),
    ("POST", "/sip-trunks", b"", _json({})),
    ("POST", "/sip-trunks", b"null", _json({})),
    ("POST", "/sip-trunks", b"[]", _json({})),
    ("POST", "/sip-trunks", b'{"name": ', _json({})),
    ("POST", "/sip-trunks", json.dumps(trunk_body()).encode(), _json({})),  # the cap (3): 409
    ("PUT", "/sip-trunks", json.dumps(trunk_body()).encode(), _json({})),
    ("GET", "/sip-trunks/", None, bearer()),
    ("DELETE", f"/sip-trunks/{TRUNK_ID}", None, bearer()),
    ("DELETE", f"/sip-trunks/{TRUNK_ID}", None, bearer()),
    ("GET", "/phone-numbers", None, bearer()),
    ("GET", "/__admin/health", None, {}),
    ("GET", "/__admin/state", None, {}),
    ("POST", "/__admin/reset?token=", None, {}),
]


async def test_the_fast_path_answers_exactly_as_connexion_alone(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []
    respond = Operation._respond

    async def counting(self: Operation, result: Any, *args: Any) -> None:
        served.append(result)
        await respond(self, result, *args)

    monkeypatch.setattr(Operation, "_respond", counting)
    for method, path, content, headers in REQUESTS:
        answers = [await client.request(method, path, content=content, headers=headers) for client in both]
        (a, b) = answers
        where = f"{method} {path} {content!r} {headers}"
        assert (a.status_code, a.content) == (b.status_code, b.content), where
        assert sorted(a.headers.multi_items()) == sorted(b.headers.multi_items()), where
    assert len(served) >= 12  # the valid requests went the fast way (in the first app only)


async def test_phone_number_links_answer_exactly_as_connexion_alone(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    numbers = [
        (await client.get("/phone-numbers", headers=bearer())).json()["phone_numbers"] for client in both
    ]
    assert numbers[0] == numbers[1]
    url = f"/phone-numbers/{numbers[0][0]['id']}"
    for body in [
        {"transfer_trunk_id": None},
        {"transfer_trunk_id": str(uuid.uuid4())},
        {"transfer_trunk_id": "nope"},
        {},
        {"transfer_trunk_id": None, "x": 1},
    ]:
        a, b = [await client.patch(url, json=body, headers=bearer()) for client in both]
        assert (a.status_code, a.content, a.headers) == (b.status_code, b.content, b.headers), body


def _fast_path(app: Any) -> FastPathMiddleware:
    _, stack = app.middleware._build_middleware_stack()
    (middleware,) = [m for m in stack if isinstance(m, FastPathMiddleware)]
    return middleware


def test_every_product_operation_is_compiled() -> None:
    served = set(operations(_fast_path(create_app(MockConfig()))))
    assert {"GET /sip-trunks", "POST /sip-trunks", "GET /phone-numbers"} <= served
    assert sum("sip\\-trunks/(?P<id>" in op for op in served) == 2  # GET and DELETE by id
    assert sum("phone\\-numbers/(?P<id>" in op for op in served) == 2  # GET and PATCH by id
    # A query parameter is left to connexion.
    assert "POST /__admin/reset" not in served


async def test_handlers_run_once_per_request(make_client: Callable[..., httpx.AsyncClient]) -> None:
    store = Store()
    async with make_client(store=store) as client:
        response = await client.post("/sip-trunks", json=trunk_body(), headers=bearer())
        assert response.status_code == 201
        refused = await client.post("/sip-trunks", json=trunk_body(port=0), headers=bearer())
        assert refused.status_code == 400
    assert len(store.list_trunks(TOKEN_A)) == 1


def test_nullable_and_write_only_become_plain_draft_4() -> None:
    schema = {
        "type": "object",
        "properties": {
            "link": {"type": "string", "nullable": True, "enum": ["a"]},
            "secret": {"type": "string", "writeOnly": True},
        },
    }
    assert to_json_schema(schema, response=False)["properties"]["link"]["type"] == ["string", "null"]
    assert to_json_schema(schema, response=True)["properties"]["secret"] == {"not": {}}
    request, response = compile_check(schema), compile_check(schema, response=True)
    assert request({"link": None, "secret": "s"}) and not request({"link": "b"})
    assert response({"link": None}) and not response({"secret": "s"})
    assert not request(object())  # a value it cannot read is not proven valid
