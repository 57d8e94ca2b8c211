"""The vault: secrets go in, can be checked, and never come back out."""

from __future__ import annotations

import copy
import pickle

import pytest

from mockserver.domain.vault import Vault

SECRET = "vault-secret-Zq9!"


@pytest.fixture
def vault() -> Vault:
    vault = Vault()
    vault.put("trunk-1", SECRET)
    return vault


def test_verify_accepts_only_the_secret(vault: Vault) -> None:
    assert vault.verify("trunk-1", SECRET)
    assert not vault.verify("trunk-1", "wrong")
    assert not vault.verify("trunk-2", SECRET)


def test_discard_forgets_and_is_idempotent(vault: Vault) -> None:
    vault.discard("trunk-1")
    vault.discard("trunk-1")
    assert "trunk-1" not in vault and len(vault) == 0


def test_repr_and_str_show_only_a_count(vault: Vault) -> None:
    assert repr(vault) == str(vault) == "<Vault: 1 secret>"
    vault.put("trunk-2", "x")
    assert repr(vault) == "<Vault: 2 secrets>"


def test_no_attribute_dump_reveals_the_secret(vault: Vault) -> None:
    with pytest.raises(TypeError):
        vars(vault)
    assert not hasattr(vault, "__dict__")
    public = {name: getattr(vault, name) for name in dir(vault) if not name.startswith("_")}
    assert SECRET not in repr(public)


def test_pickle_and_deepcopy_give_an_empty_vault(vault: Vault) -> None:
    assert SECRET.encode() not in pickle.dumps(vault)
    assert len(pickle.loads(pickle.dumps(vault))) == 0
    assert len(copy.deepcopy(vault)) == 0
    assert len(copy.copy(vault)) == 0


def test_copy_and_copy_from_carry_secrets_between_vaults(vault: Vault) -> None:
    assert vault.copy().verify("trunk-1", SECRET)
    other = Vault()
    other.copy_from(vault, ["trunk-1", "missing"])
    assert other.verify("trunk-1", SECRET) and len(other) == 1


def test_clear_forgets_everything(vault: Vault) -> None:
    vault.clear()
    assert len(vault) == 0
