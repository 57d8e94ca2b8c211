"""One contract for every ``StateStore``: the memory store and the Redis store keep the same rules.

Each test runs twice, against ``MemoryStore`` and against ``RedisStore`` on a real,
throwaway ``redis-server`` (see ``redis_server.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mockserver import MockConfig
from mockserver.domain.errors import (
    InvalidState,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.domain.interface import StateStore
from mockserver.domain.memory import MemoryStore
from mockserver.domain.models import demo_phone_numbers
from mockserver.domain.store import Store

from .helpers import TOKEN_A, TOKEN_B

pytestmark = pytest.mark.anyio

SEED: dict[str, Any] = {
    "organizations": {
        TOKEN_A: {
            "trunks": [
                {
                    "id": "11111111-1111-4111-8111-111111111111",
                    "name": "seeded",
                    "host": "sip.seed.example",
                    "username": "u",
                    "password": "seed-secret",
                    "created_at": "2025-06-01T00:00:00.000Z",
                }
            ]
        }
    }
}

Factory = Callable[..., StateStore]


@pytest.fixture(params=["memory", "redis"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """Build a store of the parameter's kind; ``seed`` becomes its baseline."""
    made: list[StateStore] = []

    def make(
        *,
        max_trunks: int = 1000,
        seed: dict[str, Any] | None = None,
        max_organizations: int = 10_000,
        keep: tuple[str, ...] = (),
    ) -> StateStore:
        if request.param == "memory":
            store = Store(max_trunks=max_trunks, max_organizations=max_organizations, keep=keep)
            if seed is not None:
                store.import_state(seed)
                store.mark_baseline()
            made.append(MemoryStore(store))
            return made[-1]
        from mockserver.redis_store import open_shared

        url = request.getfixturevalue("redis_url")
        config = MockConfig(
            store=url, max_trunks=max_trunks, max_organizations=max_organizations, tokens=keep
        )
        state, _controls = open_shared(config, seed)
        made.append(state)
        return state

    yield make
    for store in made:
        await store.aclose()


async def create(store: StateStore, token: str = TOKEN_A, **fields: Any) -> str:
    values: dict[str, Any] = {"name": "n", "host": "sip.example.com", "username": "u", "password": "p"}
    values.update(fields)
    return (await store.create_trunk(token, **values)).id


async def test_create_get_list_and_default_port(make_store: Factory) -> None:
    store = make_store()
    trunk = await store.create_trunk(TOKEN_A, name="n", host="h", username="u", password="p")
    assert trunk.port == 5060 and uuid.UUID(trunk.id).version == 4
    assert await store.get_trunk(TOKEN_A, trunk.id) == trunk
    second = await store.create_trunk(TOKEN_A, name="m", host="h", username="u", password="p", port=5080)
    listed = await store.list_trunks(TOKEN_A)
    assert [t.id for t in listed] == [
        t.id for t in sorted([trunk, second], key=lambda t: (t.created_at, t.id))
    ]
    assert second.port == 5080


async def test_a_new_organization_has_its_demo_numbers(make_store: Factory) -> None:
    store = make_store()
    assert await store.list_phone_numbers(TOKEN_A) == sorted(demo_phone_numbers(TOKEN_A), key=lambda n: n.id)
    assert await store.stats() == {"organizations": 1, "trunks": 0, "phone_numbers": 3}


async def test_organizations_are_isolated(make_store: Factory) -> None:
    store = make_store()
    trunk_id = await create(store, TOKEN_A)
    assert await store.list_trunks(TOKEN_B) == []
    with pytest.raises(TrunkNotFound):
        await store.get_trunk(TOKEN_B, trunk_id)
    with pytest.raises(TrunkNotFound):
        await store.delete_trunk(TOKEN_B, trunk_id)
    number = (await store.list_phone_numbers(TOKEN_B))[0]
    with pytest.raises(UnknownTransferTrunk):
        await store.update_phone_number(TOKEN_B, number.id, transfer_trunk_id=trunk_id)
    assert (await store.get_trunk(TOKEN_A, trunk_id)).id == trunk_id


async def test_delete_cascades_to_the_numbers_that_used_the_trunk_only(make_store: Factory) -> None:
    store = make_store()
    doomed, kept = await create(store), await create(store)
    first, second, third = await store.list_phone_numbers(TOKEN_A)
    await store.update_phone_number(TOKEN_A, first.id, transfer_trunk_id=doomed)
    await store.update_phone_number(TOKEN_A, second.id, transfer_trunk_id=kept)
    await store.delete_trunk(TOKEN_A, doomed)
    links = {n.id: n.transfer_trunk_id for n in await store.list_phone_numbers(TOKEN_A)}
    assert links == {first.id: None, second.id: kept, third.id: None}
    assert not await store.verify_password(doomed, "p")
    with pytest.raises(TrunkNotFound):
        await store.delete_trunk(TOKEN_A, doomed)


async def test_links_are_checked(make_store: Factory) -> None:
    store = make_store()
    number = (await store.list_phone_numbers(TOKEN_A))[0]
    with pytest.raises(UnknownTransferTrunk):
        await store.update_phone_number(TOKEN_A, number.id, transfer_trunk_id=str(uuid.uuid4()))
    with pytest.raises(PhoneNumberNotFound):
        await store.update_phone_number(TOKEN_A, str(uuid.uuid4()), transfer_trunk_id=None)
    with pytest.raises(PhoneNumberNotFound):
        await store.get_phone_number(TOKEN_A, str(uuid.uuid4()))
    trunk_id = await create(store)
    linked = await store.update_phone_number(TOKEN_A, number.id, transfer_trunk_id=trunk_id)
    assert (
        linked.transfer_trunk_id
        == trunk_id
        == (await store.get_phone_number(TOKEN_A, number.id)).transfer_trunk_id
    )
    unlinked = await store.update_phone_number(TOKEN_A, number.id, transfer_trunk_id=None)
    assert unlinked.transfer_trunk_id is None


async def test_the_trunk_cap(make_store: Factory) -> None:
    store = make_store(max_trunks=2)
    await create(store)
    await create(store)
    with pytest.raises(TrunkLimitReached, match="2 SIP trunks"):
        await create(store)
    assert len(await store.list_trunks(TOKEN_A)) == 2
    await create(store, TOKEN_B)  # the cap is per organization


async def test_the_trunk_cap_holds_under_concurrent_creates(make_store: Factory) -> None:
    store = make_store(max_trunks=5)
    results = await asyncio.gather(*(create(store) for _ in range(20)), return_exceptions=True)
    assert sum(isinstance(r, str) for r in results) == 5
    assert all(isinstance(r, str | TrunkLimitReached) for r in results)
    assert len(await store.list_trunks(TOKEN_A)) == 5


async def test_concurrent_deletes_and_links_never_leave_a_dangling_link(make_store: Factory) -> None:
    store = make_store()
    numbers = await store.list_phone_numbers(TOKEN_A)
    for _ in range(10):
        trunk_id = await create(store)

        async def link(number_id: str, trunk: str = trunk_id) -> None:
            with contextlib.suppress(UnknownTransferTrunk):  # the link may come before or after the delete
                await store.update_phone_number(TOKEN_A, number_id, transfer_trunk_id=trunk)

        await asyncio.gather(store.delete_trunk(TOKEN_A, trunk_id), *(link(n.id) for n in numbers))
        trunks = {t.id for t in await store.list_trunks(TOKEN_A)}
        for number in await store.list_phone_numbers(TOKEN_A):
            assert number.transfer_trunk_id is None or number.transfer_trunk_id in trunks


async def test_the_vault_verifies_and_is_never_exported(make_store: Factory) -> None:
    store = make_store()
    trunk_id = await create(store, password="s3cret-Vault")
    assert await store.verify_password(trunk_id, "s3cret-Vault")
    assert not await store.verify_password(trunk_id, "wrong")
    state = await store.export_state()
    assert "s3cret-Vault" not in repr(state)
    assert [t["id"] for t in state["organizations"][TOKEN_A]["trunks"]] == [trunk_id]


async def test_reset_returns_to_the_seed(make_store: Factory) -> None:
    store = make_store(seed=SEED)
    seeded = "11111111-1111-4111-8111-111111111111"
    await store.delete_trunk(TOKEN_A, seeded)
    await create(store, TOKEN_A)
    await create(store, TOKEN_B)
    await store.reset(TOKEN_B)
    assert await store.list_trunks(TOKEN_B) == []
    assert len(await store.list_trunks(TOKEN_A)) == 1
    await store.reset()
    assert [t.id for t in await store.list_trunks(TOKEN_A)] == [seeded]
    assert await store.verify_password(seeded, "seed-secret")
    assert (await store.stats())["organizations"] == 1


async def test_reset_of_one_organization_restores_its_seed(make_store: Factory) -> None:
    store = make_store(seed=SEED)
    seeded = "11111111-1111-4111-8111-111111111111"
    await store.delete_trunk(TOKEN_A, seeded)
    await store.reset(TOKEN_A)
    assert [t.id for t in await store.list_trunks(TOKEN_A)] == [seeded]
    assert await store.verify_password(seeded, "seed-secret")


async def test_import_replaces_everything_and_a_refused_document_changes_nothing(make_store: Factory) -> None:
    store = make_store()
    old = await create(store)
    trunk = {"id": "22222222-2222-4222-8222-222222222222", "name": "i", "host": "h", "username": "u"}
    document = {
        "organizations": {
            TOKEN_B: {
                "trunks": [{**trunk, "password": "pw"}],
                "phone_numbers": [{"number": "+15550001", "transfer_trunk_id": trunk["id"]}],
            }
        }
    }
    await store.import_state(document)
    assert await store.stats() == {"organizations": 1, "trunks": 1, "phone_numbers": 1}
    assert not await store.verify_password(old, "p")
    assert await store.verify_password(trunk["id"], "pw")
    (number,) = await store.list_phone_numbers(TOKEN_B)
    assert number.transfer_trunk_id == trunk["id"] and number.number == "+15550001"
    before = await store.export_state()
    dangling = {
        "organizations": {
            TOKEN_A: {"trunks": [], "phone_numbers": [{"number": "+1", "transfer_trunk_id": "x"}]}
        }
    }
    with pytest.raises(InvalidState):
        await store.import_state(dangling)
    assert await store.export_state() == before
    await store.delete_trunk(TOKEN_B, trunk["id"])
    assert (await store.list_phone_numbers(TOKEN_B))[0].transfer_trunk_id is None


async def test_odd_strings_round_trip(make_store: Factory) -> None:
    # A JSON body may carry lone surrogates, quotes and non-Latin text; the store keeps them as given.
    store = make_store()
    odd, token = 'na"me\\ \ud800 ☎ 名', 'to"ken\\ ÿ'  # a token comes from a header: Latin-1
    trunk = await store.create_trunk(token, name=odd, host=odd, username=odd, password=odd)
    assert await store.get_trunk(token, trunk.id) == trunk
    assert await store.verify_password(trunk.id, odd)
    assert list((await store.export_state())["organizations"]) == [token]


async def test_past_the_organization_cap_the_one_unused_the_longest_is_evicted(make_store: Factory) -> None:
    store = make_store(max_organizations=2)
    kept = await create(store, "first")
    await create(store, "second")
    await store.list_trunks("first")  # "second" is now the one unused the longest
    await store.list_trunks("third")
    assert [t.id for t in await store.list_trunks("first")] == [kept]
    assert (await store.stats())["organizations"] == 2
    assert await store.verify_password(kept, "p")
    state = await store.export_state()
    assert sorted(state["organizations"]) == ["first", "third"]


async def test_seed_and_kept_organizations_are_never_evicted_nor_counted(make_store: Factory) -> None:
    store = make_store(max_organizations=1, seed=SEED, keep=("allowed",))
    allowed = await create(store, "allowed")
    for index in range(4):
        await create(store, f"visitor-{index}")
    assert [t.id for t in await store.list_trunks("allowed")] == [allowed]
    assert len(await store.list_trunks(TOKEN_A)) == 1  # the seed's
    assert sorted((await store.export_state())["organizations"]) == sorted([TOKEN_A, "allowed", "visitor-3"])
    too_many = {"organizations": {"x": {}, "y": {}}}
    with pytest.raises(InvalidState, match="over the limit of 1"):
        await store.import_state(too_many)
