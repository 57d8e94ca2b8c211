"""Violations: the record, its one stderr line, and the bounded list the admin endpoint and reports read."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["Side", "Violation", "ViolationLog"]

Side = Literal["client", "server"]


@dataclass(frozen=True)
class Violation:
    """One break of the contract seen in traffic: by the client's request or by the server's answer.

    ``detail`` is already masked: no API key and no password is ever put in one.
    """

    side: Side
    check: str
    method: str
    path: str
    status: int | None
    detail: str
    time: str

    @classmethod
    def now(
        cls, side: Side, check: str, method: str, path: str, status: int | None, detail: str
    ) -> Violation:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(side, check, method, path, status, " ".join(detail.split()), stamp)

    def line(self) -> str:
        """``VIOLATION server delete_removes_trunk DELETE /sip-trunks/{id} 204: ...``."""
        status = "-" if self.status is None else str(self.status)
        return f"VIOLATION {self.side} {self.check} {self.method} {self.path} {status}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ViolationLog:
    """The newest ``limit`` violations, and counts of every one since the last ``clear``. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Violation] = deque(maxlen=limit)
        self._counts: Counter[tuple[str, str]] = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def add(self, violation: Violation) -> None:
        with self._lock:
            self._items.append(violation)
            self._counts[(violation.side, violation.check)] += 1
            self._total += 1

    def clear(self) -> int:
        """Forget every violation; returns how many were listed."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self._counts.clear()
            self._total = 0
        return count

    def items(self) -> list[Violation]:
        with self._lock:
            return list(self._items)

    def document(self) -> dict[str, Any]:
        """What ``GET /__proxy/violations`` answers and ``--report`` holds (with more fields)."""
        with self._lock:
            items = list(self._items)
            counts = dict(self._counts)
            total = self._total
        by_check: dict[str, dict[str, int]] = {"client": {}, "server": {}}
        for (side, check), count in sorted(counts.items()):
            by_check[side][check] = count
        return {
            "violations": [item.as_dict() for item in items],
            "count": total,
            "dropped": total - len(items),
            "by_check": by_check,
        }
