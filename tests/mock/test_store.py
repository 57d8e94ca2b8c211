"""The domain store: trunks, phone numbers, tenancy, the cascade, the cap, reset and import/export."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from mockserver.domain.errors import (
    DomainError,
    InvalidState,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.domain.models import demo_phone_numbers
from mockserver.domain.store import Store, oldest_first

from .helpers import TOKEN_A, TOKEN_B, TickingClock

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def create(store: Store, token: str = TOKEN_A, **fields: Any) -> str:
    values: dict[str, Any] = {"name": "n", "host": "sip.example.com", "username": "u", "password": "p"}
    values.update(fields)
    return store.create_trunk(token, **values).id


def test_create_trunk_fills_id_timestamp_and_default_port() -> None:
    trunk = Store().create_trunk(TOKEN_A, name="n", host="h", username="u", password="p")
    assert uuid.UUID(trunk.id).version == 4
    assert TIMESTAMP.match(trunk.created_at)
    assert trunk.port == 5060
    assert trunk.to_dict().keys() == {"id", "name", "host", "port", "username", "created_at"}


def test_create_trunk_keeps_a_given_port() -> None:
    assert (
        Store().create_trunk(TOKEN_A, name="n", host="h", username="u", password="p", port=5080).port == 5080
    )


def test_timestamps_are_utc_with_milliseconds() -> None:
    store = Store(clock=TickingClock())
    assert store.create_trunk(TOKEN_A, name="n", host="h", username="u", password="p").created_at == (
        "2026-01-02T03:04:05.001Z"
    )


def test_list_is_oldest_first_then_by_id() -> None:
    # Two trunks in the same millisecond are ordered by id, whatever the creation order.
    ids = iter(f"{digit * 8}-0000-4000-8000-000000000000" for digit in "f0a")
    clock = TickingClock()
    same_ms = clock.now
    store = Store(clock=lambda: same_ms, new_id=lambda: next(ids))
    first, second = create(store), create(store)
    store._clock = clock  # a later millisecond for the third
    third = create(store)
    assert [t.id for t in store.list_trunks(TOKEN_A)] == [second, first, third]


def test_get_and_delete_then_second_delete_is_not_found() -> None:
    store = Store()
    trunk_id = create(store)
    assert store.get_trunk(TOKEN_A, trunk_id).id == trunk_id
    store.delete_trunk(TOKEN_A, trunk_id)
    with pytest.raises(TrunkNotFound):
        store.delete_trunk(TOKEN_A, trunk_id)
    with pytest.raises(TrunkNotFound):
        store.get_trunk(TOKEN_A, trunk_id)


@pytest.mark.parametrize(
    "trunk_id", ["", "not-a-uuid", "../x", str(uuid.uuid4())], ids=["empty", "word", "path", "unknown"]
)
def test_unknown_or_malformed_ids_are_not_found(trunk_id: str) -> None:
    with pytest.raises(TrunkNotFound):
        Store().get_trunk(TOKEN_A, trunk_id)
    with pytest.raises(PhoneNumberNotFound):
        Store().get_phone_number(TOKEN_A, trunk_id)


def test_not_found_errors_are_lookup_errors_and_domain_errors() -> None:
    assert issubclass(TrunkNotFound, LookupError) and issubclass(TrunkNotFound, DomainError)
    assert str(TrunkNotFound()) == "No SIP trunk with this id"


def test_delete_clears_links_of_that_trunk_only_in_that_org() -> None:
    store = Store()
    kept, deleted = create(store), create(store)
    numbers = [n.id for n in store.list_phone_numbers(TOKEN_A)]
    store.update_phone_number(TOKEN_A, numbers[0], transfer_trunk_id=deleted)
    store.update_phone_number(TOKEN_A, numbers[1], transfer_trunk_id=kept)
    other = create(store, TOKEN_B)
    other_number = store.list_phone_numbers(TOKEN_B)[0].id
    store.update_phone_number(TOKEN_B, other_number, transfer_trunk_id=other)

    store.delete_trunk(TOKEN_A, deleted)

    links = {n.id: n.transfer_trunk_id for n in store.list_phone_numbers(TOKEN_A)}
    assert links == {numbers[0]: None, numbers[1]: kept, numbers[2]: None}
    assert store.get_phone_number(TOKEN_B, other_number).transfer_trunk_id == other


def test_organizations_are_isolated() -> None:
    store = Store()
    trunk_id = create(store, TOKEN_A)
    with pytest.raises(TrunkNotFound):
        store.get_trunk(TOKEN_B, trunk_id)
    with pytest.raises(TrunkNotFound):
        store.delete_trunk(TOKEN_B, trunk_id)
    assert store.list_trunks(TOKEN_B) == []
    number_b = store.list_phone_numbers(TOKEN_B)[0].id
    with pytest.raises(UnknownTransferTrunk):
        store.update_phone_number(TOKEN_B, number_b, transfer_trunk_id=trunk_id)
    with pytest.raises(PhoneNumberNotFound):
        store.get_phone_number(TOKEN_A, number_b)
    assert store.get_trunk(TOKEN_A, trunk_id).id == trunk_id


def test_update_phone_number_checks_the_number_before_the_trunk() -> None:
    with pytest.raises(PhoneNumberNotFound):
        Store().update_phone_number(TOKEN_A, str(uuid.uuid4()), transfer_trunk_id=str(uuid.uuid4()))


def test_update_phone_number_sets_and_clears_the_link() -> None:
    store = Store()
    trunk_id = create(store)
    number_id = store.list_phone_numbers(TOKEN_A)[0].id
    assert (
        store.update_phone_number(TOKEN_A, number_id, transfer_trunk_id=trunk_id).transfer_trunk_id
        == trunk_id
    )
    assert store.update_phone_number(TOKEN_A, number_id, transfer_trunk_id=None).transfer_trunk_id is None


def test_trunk_cap_is_per_organization() -> None:
    store = Store(max_trunks=2)
    create(store), create(store)
    with pytest.raises(TrunkLimitReached, match="already has 2 SIP trunks"):
        create(store)
    create(store, TOKEN_B)
    assert len(store.list_trunks(TOKEN_A)) == 2


def test_demo_phone_numbers_are_deterministic_per_token_and_distinct() -> None:
    first, again, other = (
        demo_phone_numbers(TOKEN_A),
        demo_phone_numbers(TOKEN_A),
        demo_phone_numbers(TOKEN_B),
    )
    assert first == again
    assert len(first) == 3 and len({n.number for n in first}) == 3
    assert {n.id for n in first}.isdisjoint({n.id for n in other})
    assert all(re.match(r"^\+1415555\d{4}$", n.number) and n.transfer_trunk_id is None for n in first)
    assert [n.to_dict() for n in Store().list_phone_numbers(TOKEN_A)] == [
        n.to_dict() for n in sorted(first, key=lambda n: (n.created_at, n.id))
    ]


def test_password_goes_to_the_vault_and_leaves_with_the_trunk() -> None:
    store = Store()
    trunk_id = create(store, password="hunter2")
    assert store.vault.verify(trunk_id, "hunter2")
    assert "hunter2" not in repr(store.get_trunk(TOKEN_A, trunk_id))
    store.delete_trunk(TOKEN_A, trunk_id)
    assert trunk_id not in store.vault


def test_reset_all_drops_everything_and_the_secrets() -> None:
    store = Store()
    create(store), create(store, TOKEN_B)
    store.reset()
    assert store.stats() == {"organizations": 0, "trunks": 0, "phone_numbers": 0}
    assert len(store.vault) == 0


def test_reset_one_token_keeps_the_others() -> None:
    store = Store()
    create(store, TOKEN_A)
    kept = create(store, TOKEN_B)
    store.reset(TOKEN_A)
    assert store.list_trunks(TOKEN_A) == []
    assert [t.id for t in store.list_trunks(TOKEN_B)] == [kept]
    assert kept in store.vault


def test_reset_returns_to_the_baseline() -> None:
    store = Store()
    seeded = create(store, password="seeded-pw")
    store.mark_baseline()
    store.delete_trunk(TOKEN_A, seeded)
    create(store)
    store.reset()
    assert [t.id for t in store.list_trunks(TOKEN_A)] == [seeded]
    assert store.vault.verify(seeded, "seeded-pw")
    store.delete_trunk(TOKEN_A, seeded)
    store.reset(TOKEN_A)
    assert store.vault.verify(seeded, "seeded-pw")


def test_export_has_no_passwords_and_imports_back() -> None:
    store = Store()
    trunk_id = create(store, password="exported-secret")
    number_id = store.list_phone_numbers(TOKEN_A)[0].id
    store.update_phone_number(TOKEN_A, number_id, transfer_trunk_id=trunk_id)
    exported = store.export_state()
    assert "exported-secret" not in repr(exported)
    assert "password" not in repr(exported)

    other = Store()
    other.import_state(exported)
    assert other.export_state() == exported
    assert trunk_id not in other.vault  # exports hold no password, so the import has none


def test_import_fills_defaults_and_puts_passwords_in_the_vault() -> None:
    store = Store(clock=TickingClock())
    store.import_state(
        {
            "organizations": {
                TOKEN_A: {"trunks": [{"name": "n", "host": "h", "username": "u", "password": "pw"}]}
            }
        }
    )
    (trunk,) = store.list_trunks(TOKEN_A)
    assert trunk.port == 5060 and trunk.created_at == "2026-01-02T03:04:05.001Z"
    assert store.vault.verify(trunk.id, "pw")
    assert len(store.list_phone_numbers(TOKEN_A)) == 3  # no phone_numbers key: the demo ones
    store.import_state({"organizations": {TOKEN_A: {"phone_numbers": []}}})
    assert store.list_phone_numbers(TOKEN_A) == []
    assert trunk.id not in store.vault  # the import replaced everything


TRUNK_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
TRUNK = {"id": TRUNK_ID, "name": "n", "host": "h", "username": "u"}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({TOKEN_A: {"trunks": [TRUNK, TRUNK]}}, "trunks[1].id: duplicate trunk id"),
        ({TOKEN_A: {"trunks": [TRUNK]}, TOKEN_B: {"trunks": [TRUNK]}}, "trunks[0].id: duplicate trunk id"),
        (
            {TOKEN_A: {"phone_numbers": [{"number": "+14155550100", "transfer_trunk_id": TRUNK_ID}]}},
            "phone_numbers[0].transfer_trunk_id: no trunk",
        ),
        (
            {
                TOKEN_A: {
                    "phone_numbers": [
                        {"id": TRUNK_ID, "number": "+1415"},
                        {"id": TRUNK_ID, "number": "+1416"},
                    ]
                }
            },
            "phone_numbers[1].id: duplicate phone number id",
        ),
        (
            {TOKEN_A: {"trunks": [{**TRUNK, "id": str(uuid.uuid4())} for _ in range(3)]}},
            "over the limit of 2",
        ),
    ],
    ids=["duplicate-trunk", "trunk-in-two-orgs", "dangling-link", "duplicate-number", "over-cap"],
)
def test_import_refuses_broken_states_and_changes_nothing(state: dict[str, Any], message: str) -> None:
    store = Store(max_trunks=2)
    kept = create(store)
    with pytest.raises(InvalidState, match=re.escape(message)):
        store.import_state({"organizations": state})
    assert [t.id for t in store.list_trunks(TOKEN_A)] == [kept]
    assert kept in store.vault


def test_import_refuses_more_organizations_than_the_cap() -> None:
    store = Store(max_organizations=2)
    with pytest.raises(InvalidState, match="3 organizations, over the limit of 2"):
        store.import_state({"organizations": {"a": {}, "b": {}, "c": {}}})
    assert store.stats()["organizations"] == 0


# The organization cap ----------------------------------------------------------------------


def tokens(store: Store) -> list[str]:
    return list(store.export_state()["organizations"])


def test_a_new_key_over_the_cap_evicts_the_organization_unused_the_longest() -> None:
    store = Store(max_organizations=3)
    doomed = create(store, "a")
    create(store, "b")
    create(store, "c")
    store.list_trunks("a")  # "a" is used again: "b" is now the one unused the longest
    store.list_trunks("d")
    assert tokens(store) == ["c", "a", "d"]
    assert store.evicted == 1
    assert doomed in store.vault and len(store.vault) == 2  # "b"'s password went with it
    store.organization("e")
    assert tokens(store) == ["a", "d", "e"] and len(store.vault) == 1
    assert [t.id for t in store.list_trunks("a")] == [doomed]


def test_an_evicted_key_comes_back_as_a_new_organization() -> None:
    store = Store(max_organizations=1)
    create(store, "a")
    store.organization("b")
    assert store.list_trunks("a") == []  # "b" is evicted in turn
    assert store.stats() == {"organizations": 1, "trunks": 0, "phone_numbers": 3}
    assert store.list_phone_numbers("a") == oldest_first(demo_phone_numbers("a"))


def test_seed_organizations_are_never_evicted_nor_counted() -> None:
    store = Store(max_organizations=2)
    seeded = create(store, "seed-1")
    create(store, "seed-2")
    store.mark_baseline()
    for index in range(10):
        store.organization(f"key-{index}")
    assert set(tokens(store)) == {"seed-1", "seed-2", "key-8", "key-9"}
    assert [t.id for t in store.list_trunks("seed-1")] == [seeded] and seeded in store.vault
    store.reset()  # a seed organization reset to the baseline is still kept
    for index in range(5):
        store.organization(f"other-{index}")
    assert set(tokens(store)) == {"seed-1", "seed-2", "other-3", "other-4"}


def test_organizations_of_kept_keys_are_never_evicted_nor_counted() -> None:
    store = Store(max_organizations=1, keep=("allowed-1", "allowed-2", "allowed-3"))
    for token in ("allowed-1", "allowed-2", "allowed-3"):
        create(store, token)
    store.organization("stranger")
    store.organization("another")
    assert set(tokens(store)) == {"allowed-1", "allowed-2", "allowed-3", "another"}
    assert store.stats()["trunks"] == 3


def test_the_first_eviction_is_logged_once_at_warning_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(max_organizations=1)
    with caplog.at_level("INFO", logger="mockserver.domain.store"):
        for index in range(5):
            store.organization(f"secret-key-{index}")
    assert [(r.levelname, r.name) for r in caplog.records] == [("WARNING", "mockserver.domain.store")]
    assert "evicts the organization unused the longest" in caplog.text
    assert "secret-key" not in caplog.text
    assert store.evicted == 4


def test_memory_stays_bounded_under_a_flood_of_new_keys() -> None:
    # Every key a new organization: the store holds the cap, not the flood.
    store = Store(max_organizations=100)
    for index in range(5000):
        store.organization(f"flood-{index}")
    assert store.stats()["organizations"] == 100 and store.evicted == 4900
