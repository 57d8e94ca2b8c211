"""Seed files: good ones load and become the reset baseline; bad ones are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver import MockConfig, Store
from mockserver.seed import SeedError, apply_seed, load_seed

from .helpers import TOKEN_A, TOKEN_B

TRUNK_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"

GOOD_YAML = f"""\
organizations:
  {TOKEN_A}:
    trunks:
      - id: {TRUNK_ID}
        name: Main Trunk
        host: sip.provider.com
        username: myuser
        password: seeded-password
        created_at: "2025-12-13T10:00:00.000Z"
    phone_numbers:
      - number: "+14155550100"
        transfer_trunk_id: {TRUNK_ID}
  {TOKEN_B}: {{}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_seed_loads_trunks_numbers_and_passwords(tmp_path: Path) -> None:
    store = Store()
    apply_seed(store, write(tmp_path, "seed.yaml", GOOD_YAML))
    (trunk,) = store.list_trunks(TOKEN_A)
    assert trunk.to_dict() == {
        "id": TRUNK_ID,
        "name": "Main Trunk",
        "host": "sip.provider.com",
        "port": 5060,
        "username": "myuser",
        "created_at": "2025-12-13T10:00:00.000Z",
    }
    assert store.vault.verify(TRUNK_ID, "seeded-password")
    assert [n.transfer_trunk_id for n in store.list_phone_numbers(TOKEN_A)] == [TRUNK_ID]
    assert len(store.list_phone_numbers(TOKEN_B)) == 3  # no phone_numbers key: demo numbers


def test_a_json_seed_loads(tmp_path: Path) -> None:
    document = {"organizations": {TOKEN_A: {"trunks": [{"name": "n", "host": "h", "username": "u"}]}}}
    assert load_seed(write(tmp_path, "seed.json", json.dumps(document))) == document


def test_the_seed_is_what_reset_returns_to(tmp_path: Path) -> None:
    store = Store()
    apply_seed(store, write(tmp_path, "seed.yaml", GOOD_YAML))
    store.delete_trunk(TOKEN_A, TRUNK_ID)
    store.create_trunk(TOKEN_B, name="n", host="h", username="u", password="p")
    store.reset()
    assert [t.id for t in store.list_trunks(TOKEN_A)] == [TRUNK_ID]
    assert store.list_trunks(TOKEN_B) == []
    assert store.vault.verify(TRUNK_ID, "seeded-password")


def test_create_app_loads_the_seed_file(tmp_path: Path) -> None:
    from mockserver import create_app

    store = Store()
    create_app(MockConfig(seed_file=write(tmp_path, "seed.yaml", GOOD_YAML)), store=store)
    assert [t.id for t in store.list_trunks(TOKEN_A)] == [TRUNK_ID]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("seed.yaml", "organizations: [unclosed", "not valid YAML"),
        ("seed.json", "{", "not valid JSON"),
        ("seed.yaml", "- a list", "(top level): must be of type object"),
        (
            "seed.yaml",
            "organisations: {}",
            "(top level): Additional properties are not allowed ('organisations'",
        ),
        (
            "seed.yaml",
            "organizations:\n  k:\n    trunks:\n      - {name: n, host: h}",
            "organizations.k.trunks[0]: 'username'",
        ),
        (
            "seed.yaml",
            "organizations:\n  k:\n    trunks:\n      - {name: n, host: 'bad host', username: u}",
            "organizations.k.trunks[0].host: must match the pattern ^(",
        ),
        (
            "seed.yaml",
            "organizations:\n  k:\n    phone_numbers:\n      - {number: '555'}",
            "phone_numbers[0].number",
        ),
        (
            "seed.yaml",
            "organizations:\n  k:\n    phone_numbers:\n"
            f"      - {{number: '+14155550100', transfer_trunk_id: {TRUNK_ID}}}",
            "organizations.k.phone_numbers[0].transfer_trunk_id: no trunk",
        ),
        (
            "seed.yaml",
            "organizations:\n  k:\n    trunks:\n      - {name: n, host: h, username: u, port: 70000}",
            "organizations.k.trunks[0].port: must be at most 65535",
        ),
    ],
    ids=[
        "yaml-syntax",
        "json-syntax",
        "not-a-mapping",
        "misspelt-key",
        "missing-field",
        "bad-host",
        "bad-number",
        "dangling",
        "port",
    ],
)
def test_bad_seeds_are_refused_in_one_line_naming_file_path_and_reason(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(SeedError) as caught:
        apply_seed(Store(), path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert expected in message


def test_a_missing_seed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read the seed file"):
        load_seed(tmp_path / "absent.yaml")
