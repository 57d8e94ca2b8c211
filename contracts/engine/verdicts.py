"""How our own suites judge: a ``Violation`` names the check it breaks; a ``Tally`` counts outcomes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from contracts.engine.events import Tallied

if TYPE_CHECKING:
    from contracts.http.client import Exchange

__all__ = ["Tally", "Violation"]


class Violation(AssertionError):
    """The target broke the check called ``check``: "expected …, got …".

    ``exchanges`` are the requests that show it, oldest first, the offending one last.
    """

    def __init__(self, check: str, message: str, exchanges: tuple[Exchange, ...] = ()) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message
        self.exchanges = exchanges

    @classmethod
    def expected(cls, check: str, expected: str, got: str, *exchanges: Exchange) -> Violation:
        return cls(check, f"expected {expected}, got {got}", exchanges)

    def with_history(self, history: tuple[Exchange, ...]) -> Violation:
        """The same violation, reproduced by ``history`` (which ends with the offending request)."""
        return Violation(self.check, self.message, history)


class Tally:
    """Counts of passed and failed evaluations per check, drained into ``Tallied`` events.

    Thread-safe: the lanes of a suite (``contracts.engine.parallel``) count into one tally.
    """

    def __init__(self) -> None:
        self._passed: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def passed(self, check: str, count: int = 1) -> None:
        with self._lock:
            self._passed[check] += count

    def failed(self, check: str, count: int = 1) -> None:
        with self._lock:
            self._failed[check] += count

    def drain(self) -> Iterator[Tallied]:
        """Events for everything counted since the last drain, then start over."""
        with self._lock:
            passed, failed = self._passed, self._failed
            self._passed, self._failed = Counter(), Counter()
        for check in sorted(set(passed) | set(failed)):
            yield Tallied(check=check, passed=passed[check], failed=failed[check])
