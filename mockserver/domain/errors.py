"""Domain errors of the mock's store: what went wrong, in words safe to show, with no HTTP in them.

``mockserver.http.problems`` maps each class to a status::

    DomainError
    ├── NotFound (LookupError)
    │   ├── TrunkNotFound
    │   └── PhoneNumberNotFound
    ├── UnknownTransferTrunk (ValueError)
    ├── TrunkLimitReached
    ├── InvalidState (ValueError)
    └── StoreUnavailable (ConnectionError): a shared store (Redis) cannot be reached
"""

from __future__ import annotations

__all__ = [
    "DomainError",
    "InvalidState",
    "NotFound",
    "PhoneNumberNotFound",
    "StoreUnavailable",
    "TrunkLimitReached",
    "TrunkNotFound",
    "UnknownTransferTrunk",
]


class DomainError(Exception):
    """Base of every error the store raises; its message is safe to show to the caller."""


class NotFound(DomainError, LookupError):
    """No such resource in the caller's organization."""


class TrunkNotFound(NotFound):
    """No SIP trunk with this id in the caller's organization."""

    def __init__(self) -> None:
        super().__init__("No SIP trunk with this id")


class PhoneNumberNotFound(NotFound):
    """No phone number with this id in the caller's organization."""

    def __init__(self) -> None:
        super().__init__("No phone number with this id")


class UnknownTransferTrunk(DomainError, ValueError):
    """A phone number was pointed at a trunk the organization does not have."""

    def __init__(self) -> None:
        super().__init__("transfer_trunk_id: no SIP trunk with this id in this organization")


class TrunkLimitReached(DomainError):
    """The organization already holds the maximum number of trunks."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"This organization already has {limit} SIP trunks, the maximum")
        self.limit = limit


class InvalidState(DomainError, ValueError):
    """An imported state or seed breaks a rule (duplicate ids, dangling references, caps)."""


class StoreUnavailable(DomainError, ConnectionError):
    """The shared store cannot be reached or did not answer in time; nothing was applied, or all of it.

    The message names the store (its URL, password masked) and why; ``retry_after`` is the
    number of seconds a client should wait.
    """

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
