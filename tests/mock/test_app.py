"""The product API in-process: CRUD, tenancy, the cascade, auth, and every error as a problem."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import MockConfig, Store, running_mock

from .helpers import TOKEN_A, TOKEN_B, assert_problem, bearer, create, phone_numbers, trunk_body

pytestmark = pytest.mark.anyio

MakeClient = Callable[..., httpx.AsyncClient]


# CRUD ----------------------------------------------------------------------------------


async def test_create_returns_the_trunk_with_location_and_default_port(client: httpx.AsyncClient) -> None:
    response = await client.post("/sip-trunks", json=trunk_body(), headers=bearer())
    assert response.status_code == 201
    trunk = response.json()
    assert response.headers["location"] == f"/sip-trunks/{trunk['id']}"
    assert response.headers["content-type"] == "application/json"
    assert uuid.UUID(trunk["id"]).version == 4
    assert trunk["port"] == 5060
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", trunk["created_at"])
    assert set(trunk) == {"id", "name", "host", "port", "username", "created_at"}


async def test_get_list_delete_and_a_second_delete_is_404(client: httpx.AsyncClient) -> None:
    trunk = await create(client, port=5080)
    assert (await client.get(f"/sip-trunks/{trunk['id']}", headers=bearer())).json() == trunk
    assert (await client.get("/sip-trunks", headers=bearer())).json() == {"trunks": [trunk]}
    deleted = await client.delete(f"/sip-trunks/{trunk['id']}", headers=bearer())
    assert deleted.status_code == 204 and deleted.content == b""
    assert "content-type" not in deleted.headers
    assert_problem(await client.delete(f"/sip-trunks/{trunk['id']}", headers=bearer()), 404)
    assert_problem(await client.get(f"/sip-trunks/{trunk['id']}", headers=bearer()), 404, "No SIP trunk")
    assert (await client.get("/sip-trunks", headers=bearer())).json() == {"trunks": []}


async def test_list_is_oldest_first(client: httpx.AsyncClient) -> None:
    created = [await create(client, name=f"trunk {i}") for i in range(5)]
    listed = (await client.get("/sip-trunks", headers=bearer())).json()["trunks"]
    assert listed == sorted(created, key=lambda t: (t["created_at"], t["id"]))


@pytest.mark.parametrize(
    "trunk_id", ["not-a-uuid", "123", "%20", str(uuid.uuid4())], ids=["word", "int", "space", "uuid"]
)
async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient, trunk_id: str) -> None:
    for method in ("GET", "DELETE"):
        assert_problem(await client.request(method, f"/sip-trunks/{trunk_id}", headers=bearer()), 404)
    assert_problem(await client.get(f"/phone-numbers/{trunk_id}", headers=bearer()), 404)
    patch = await client.patch(
        f"/phone-numbers/{trunk_id}", json={"transfer_trunk_id": None}, headers=bearer()
    )
    assert_problem(patch, 404, "No phone number")


async def test_new_organizations_start_with_three_demo_numbers(client: httpx.AsyncClient) -> None:
    first = await phone_numbers(client)
    assert len(first) == 3
    assert all(n["transfer_trunk_id"] is None for n in first)
    assert await phone_numbers(client) == first
    assert {n["id"] for n in await phone_numbers(client, TOKEN_B)}.isdisjoint({n["id"] for n in first})


async def test_link_then_delete_clears_only_that_trunks_links(client: httpx.AsyncClient) -> None:
    doomed, kept = await create(client), await create(client)
    numbers = await phone_numbers(client)
    for number, trunk in zip(numbers, (doomed, kept, doomed), strict=True):
        response = await client.patch(
            f"/phone-numbers/{number['id']}", json={"transfer_trunk_id": trunk["id"]}, headers=bearer()
        )
        assert response.status_code == 200 and response.json()["transfer_trunk_id"] == trunk["id"]
    other = await create(client, TOKEN_B)
    other_number = (await phone_numbers(client, TOKEN_B))[0]
    await client.patch(
        f"/phone-numbers/{other_number['id']}",
        json={"transfer_trunk_id": other["id"]},
        headers=bearer(TOKEN_B),
    )

    assert (await client.delete(f"/sip-trunks/{doomed['id']}", headers=bearer())).status_code == 204

    assert [n["transfer_trunk_id"] for n in await phone_numbers(client)] == [None, kept["id"], None]
    assert (await phone_numbers(client, TOKEN_B))[0]["transfer_trunk_id"] == other["id"]


async def test_patch_can_clear_a_link(client: httpx.AsyncClient) -> None:
    trunk = await create(client)
    number = (await phone_numbers(client))[0]
    url = f"/phone-numbers/{number['id']}"
    await client.patch(url, json={"transfer_trunk_id": trunk["id"]}, headers=bearer())
    cleared = await client.patch(url, json={"transfer_trunk_id": None}, headers=bearer())
    assert cleared.json()["transfer_trunk_id"] is None
    assert (await client.get(url, headers=bearer())).json() == cleared.json()


# Tenancy -------------------------------------------------------------------------------


async def test_another_organizations_trunk_is_invisible(client: httpx.AsyncClient) -> None:
    trunk = await create(client, TOKEN_A)
    assert_problem(await client.get(f"/sip-trunks/{trunk['id']}", headers=bearer(TOKEN_B)), 404)
    assert_problem(await client.delete(f"/sip-trunks/{trunk['id']}", headers=bearer(TOKEN_B)), 404)
    assert (await client.get("/sip-trunks", headers=bearer(TOKEN_B))).json() == {"trunks": []}
    number_b = (await phone_numbers(client, TOKEN_B))[0]
    linked = await client.patch(
        f"/phone-numbers/{number_b['id']}", json={"transfer_trunk_id": trunk["id"]}, headers=bearer(TOKEN_B)
    )
    assert_problem(linked, 422, "transfer_trunk_id")
    number_a = (await phone_numbers(client, TOKEN_A))[0]
    assert_problem(await client.get(f"/phone-numbers/{number_a['id']}", headers=bearer(TOKEN_B)), 404)
    assert (await client.get(f"/sip-trunks/{trunk['id']}", headers=bearer(TOKEN_A))).status_code == 200


async def test_a_random_trunk_id_in_patch_is_422(client: httpx.AsyncClient) -> None:
    number = (await phone_numbers(client))[0]
    response = await client.patch(
        f"/phone-numbers/{number['id']}", json={"transfer_trunk_id": str(uuid.uuid4())}, headers=bearer()
    )
    body = assert_problem(response, 422)
    assert body["title"] == "Unknown SIP trunk"


# Authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}],
    ids=["no-header", "basic", "bearer-empty", "bearer-alone"],
)
async def test_missing_or_wrong_credentials_are_401_with_www_authenticate(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for method, path in [("GET", "/sip-trunks"), ("POST", "/sip-trunks"), ("GET", "/phone-numbers")]:
        response = await client.request(method, path, headers=headers, json=trunk_body())
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_token_allow_list(make_client: MakeClient) -> None:
    async with make_client(MockConfig(tokens=("good",), validate_responses=True)) as client:
        assert (await client.get("/sip-trunks", headers=bearer("good"))).status_code == 200
        refused = await client.get("/sip-trunks", headers=bearer("other"))
        assert_problem(refused, 401)
        assert refused.headers["www-authenticate"] == "Bearer"


async def test_any_non_empty_token_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sip-trunks", headers=bearer("anything-at-all"))).status_code == 200


# Routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/nope", "/sip-trunks/a/b", "/sip_trunks", "/sip-trunks/", "/sip-trunks//", "/phone-numbers/x/"],
    ids=["root", "word", "deep", "underscore", "trailing-slash", "two-slashes", "item-slash"],
)
async def test_unknown_paths_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path, headers=bearer()), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/sip-trunks", "GET, POST"),
        ("DELETE", "/sip-trunks", "GET, POST"),
        ("OPTIONS", "/sip-trunks", "GET, POST"),
        ("PATCH", "/sip-trunks/x", "GET, DELETE"),
        ("POST", "/sip-trunks/6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f", "GET, DELETE"),
        ("POST", "/phone-numbers", "GET"),
        ("DELETE", "/phone-numbers/x", "GET, PATCH"),
        ("TRACE", "/phone-numbers/x", "GET, PATCH"),
        ("DELETE", "/__admin/state", "GET, PUT"),
    ],
    ids=[
        "put-list",
        "delete-list",
        "options-list",
        "patch-item",
        "post-item",
        "post-numbers",
        "delete-number",
        "trace",
        "admin",
    ],
)
async def test_wrong_methods_are_405_listing_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=bearer())
    assert_problem(response, 405, method)
    assert response.headers["allow"] == allow


async def test_trunk_cap_is_409(make_client: MakeClient) -> None:
    async with make_client(MockConfig(max_trunks=2, validate_responses=True)) as client:
        await create(client), await create(client)
        body = assert_problem(
            await client.post("/sip-trunks", json=trunk_body(), headers=bearer()), 409, "2 SIP trunks"
        )
        assert body["title"] == "Trunk limit reached"
        await create(client, TOKEN_B)


def test_a_flood_of_new_keys_is_capped_and_the_seed_and_recent_organizations_survive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A hostile client on 127.0.0.1: one new API key per request, 300 of them, over a cap of 20.
    seed = tmp_path / "seed.yaml"
    seed.write_text("organizations:\n  seeded-key: {}\n", encoding="utf-8")
    config = MockConfig(validate_responses=True, access_log=False, max_organizations=20, seed_file=seed)
    with running_mock(config) as mock, httpx.Client(base_url=mock.base_url, timeout=10) as http:
        seeded = http.post("/sip-trunks", json=trunk_body(), headers=bearer("seeded-key")).json()
        recent = http.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_A)).json()
        with caplog.at_level("WARNING", logger="mockserver.domain.store"):
            for index in range(300):
                assert http.get("/sip-trunks", headers=bearer(f"flood-{index}")).status_code == 200
                if index % 10 == 0:  # TOKEN_A stays in use: never the one unused the longest
                    assert http.get(f"/sip-trunks/{recent['id']}", headers=bearer(TOKEN_A)).status_code == 200
        assert http.get("/__admin/health").json()["organizations"] == 21  # the cap, and the seed's
        assert http.get(f"/sip-trunks/{seeded['id']}", headers=bearer("seeded-key")).status_code == 200
        assert http.get(f"/sip-trunks/{recent['id']}", headers=bearer(TOKEN_A)).status_code == 200
        assert "flood-0" not in http.get("/__admin/state").json()["organizations"]
    warnings = [r for r in caplog.records if r.name == "mockserver.domain.store"]
    assert len(warnings) == 1 and "evicts the organization unused the longest" in warnings[0].getMessage()


async def test_keys_of_the_allow_list_are_never_evicted(make_client: MakeClient) -> None:
    config = MockConfig(validate_responses=True, tokens=("key-1", "key-2", "key-3"), max_organizations=1)
    async with make_client(config) as client:
        for token in ("key-1", "key-2", "key-3"):
            await create(client, token)
        for token in ("key-1", "key-2", "key-3"):
            assert len((await client.get("/sip-trunks", headers=bearer(token))).json()["trunks"]) == 1


async def test_the_app_uses_the_store_it_is_given(make_client: MakeClient) -> None:
    store = Store()
    trunk = store.create_trunk(TOKEN_A, name="n", host="h", username="u", password="p")
    async with make_client(store=store) as client:
        assert (await client.get(f"/sip-trunks/{trunk.id}", headers=bearer())).json() == trunk.to_dict()
        await create(client)
    assert len(store.list_trunks(TOKEN_A)) == 2


async def test_two_apps_do_not_share_state(make_client: MakeClient) -> None:
    async with make_client() as first, make_client() as second:
        await create(first)
        assert (await second.get("/sip-trunks", headers=bearer())).json() == {"trunks": []}


# Documentation -------------------------------------------------------------------------


async def test_the_spec_and_swagger_ui_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ui")).headers["location"].endswith("/ui/")
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "SIP trunks API"
    ui = await client.get("/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
    assert (await client.get("/__admin/openapi.json")).json()["paths"].keys() >= {
        "/health",
        "/state",
        "/reset",
    }


class _LeakyStore(Store):
    """Planted bug: the list shows each trunk with its password field (the spec forbids it)."""

    def list_trunks(self, token: str) -> list[Any]:
        class Leaky:
            def __init__(self, trunk: Any) -> None:
                self.trunk = trunk

            def to_dict(self) -> dict[str, object]:
                return {**self.trunk.to_dict(), "password": "leaked"}

        return [Leaky(trunk) for trunk in super().list_trunks(token)]


async def test_response_validation_turns_drift_into_a_500(make_client: MakeClient) -> None:
    store = _LeakyStore()
    store.create_trunk(TOKEN_A, name="n", host="h", username="u", password="p")
    async with make_client(MockConfig(validate_responses=True), store) as client:
        response = await client.get("/sip-trunks", headers=bearer())
    assert response.status_code == 500
    assert "leaked" not in response.text


@pytest.mark.parametrize(
    "content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8", "application/Json;charset=utf-8"]
)
async def test_the_media_type_is_case_insensitive(client: httpx.AsyncClient, content_type: str) -> None:
    # RFC 9110: connexion accepted these but passed raw bytes to the handler, a 500.
    body = b'{"name": "a", "host": "h", "username": "u", "password": "p"}'
    headers = {**bearer(TOKEN_A), "Content-Type": content_type}
    created = await client.post("/sip-trunks", content=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["port"] == 5060


async def test_a_number_of_5000_digits_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    # json.loads raises a plain ValueError for integers past Python's 4300-digit limit.
    huge = "1" + "0" * 5000
    body = f'{{"name": "n", "host": "h", "username": "u", "password": "p", "port": {huge}}}'.encode()
    headers = {**bearer(TOKEN_A), "Content-Type": "application/json"}
    for path, method in (("/sip-trunks", "POST"), (f"/phone-numbers/{uuid.uuid4()}", "PATCH")):
        answer = await client.request(method, path, content=body, headers=headers)
        assert_problem(answer, 400)
        assert "too many digits" in answer.json()["detail"]


async def test_deeply_nested_json_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    # json.loads raises RecursionError, not JSONDecodeError, past Python's recursion limit.
    body = b"[" * 30_000 + b"]" * 30_000  # under the 64 KiB limit
    headers = {**bearer(TOKEN_A), "Content-Type": "application/json"}
    for path, method in (("/sip-trunks", "POST"), (f"/phone-numbers/{uuid.uuid4()}", "PATCH")):
        answer = await client.request(method, path, content=body, headers=headers)
        assert_problem(answer, 400)
        assert "nested too deeply" in answer.json()["detail"]
    journal = await client.get("/__admin/requests")
    assert journal.status_code == 200
