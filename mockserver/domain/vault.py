"""A write-only vault that holds SIP passwords keyed by trunk id and never gives them back."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

__all__ = ["Vault"]


class Vault:
    """Holds one secret per trunk id; secrets can be checked but never read back.

    >>> vault = Vault()
    >>> vault.put("t1", "s3cret")
    >>> vault.verify("t1", "s3cret"), "t1" in vault, vault
    (True, True, <Vault: 1 secret>)
    """

    # __slots__ and a name-mangled attribute keep secrets out of vars() and casual dumps.
    __slots__ = ("__secrets",)

    def __init__(self) -> None:
        self.__secrets: dict[str, str] = {}

    def put(self, trunk_id: str, secret: str) -> None:
        """Store (or replace) the secret of a trunk."""
        self.__secrets[trunk_id] = secret

    def discard(self, trunk_id: str) -> None:
        """Forget the secret of a trunk, if any."""
        self.__secrets.pop(trunk_id, None)

    def verify(self, trunk_id: str, candidate: str) -> bool:
        """Whether ``candidate`` is the trunk's secret (constant-time comparison)."""
        secret = self.__secrets.get(trunk_id)
        if secret is None:
            return False
        return hmac.compare_digest(
            secret.encode("utf-8", "surrogatepass"), candidate.encode("utf-8", "surrogatepass")
        )

    def clear(self) -> None:
        """Forget every secret."""
        self.__secrets.clear()

    def copy(self) -> Vault:
        """A new vault holding the same secrets (used for the store's baseline)."""
        other = Vault()
        other.__secrets.update(self.__secrets)
        return other

    def copy_from(self, other: Vault, trunk_ids: Iterable[str]) -> None:
        """Copy the secrets of ``trunk_ids`` that ``other`` holds into this vault."""
        source = other.__secrets
        for trunk_id in trunk_ids:
            if trunk_id in source:
                self.__secrets[trunk_id] = source[trunk_id]

    def __contains__(self, trunk_id: object) -> bool:
        return trunk_id in self.__secrets

    def __len__(self) -> int:
        return len(self.__secrets)

    def __repr__(self) -> str:
        count = len(self.__secrets)
        return f"<Vault: {count} secret{'' if count == 1 else 's'}>"

    def __reduce__(self) -> tuple[type[Vault], tuple[()]]:
        # Pickling or deep-copying a vault yields an empty one: secrets never leave it.
        return (Vault, ())
