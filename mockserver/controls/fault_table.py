"""Which faults apply to a request: the operations of the spec and their statuses, and the faults in force.

A fault's status must be one the spec documents for every operation it matches, so an
injected answer still conforms (``Catalog.resolve``). The latencies of every matching fault
add up; the first matching fault with a status or a drop decides the answer. ``fraction``
and latency ranges draw from a generator seeded by ``--fault-seed`` and the fault's id, so a
run is reproducible. Standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.controls.faults import ANY, FaultNotFound, FaultSpec, InvalidFault, path_matcher
from mockserver.domain.models import org_key

__all__ = ["MAX_FAULTS", "Catalog", "Decision", "Fault", "FaultTable", "Operation"]

MAX_FAULTS = 100  # faults held at once; the list is scanned on every request
_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")

Operation = tuple[str, str]  # (METHOD, path template)


class Catalog:
    """The product API's operations, the error statuses the spec documents for each, and path → template."""

    _CACHE_SIZE = 4096

    def __init__(self, operations: Mapping[Operation, Iterable[int]]) -> None:
        self.operations: dict[Operation, frozenset[int]] = {op: frozenset(s) for op, s in operations.items()}
        self.templates = sorted({template for _, template in self.operations})
        self._patterns = [(path_matcher(template), template) for template in self.templates]
        self._cache: dict[str, str | None] = {}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Catalog:
        """Read operations and their documented 4xx/5xx statuses from an OpenAPI document."""
        operations: dict[Operation, set[int]] = {}
        for template, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                if method.upper() in _METHODS:
                    statuses = {int(code) for code in operation.get("responses", {}) if code.isdigit()}
                    operations[(method.upper(), template)] = {code for code in statuses if code >= 400}
        return cls(operations)

    def template(self, path: str) -> str | None:
        """The path template a concrete path belongs to, or ``None`` for a path the spec lacks."""
        try:
            return self._cache[path]
        except KeyError:
            pass
        found = next((t for pattern, t in self._patterns if pattern.match(path)), None)
        if len(self._cache) >= self._CACHE_SIZE:  # ids make paths unbounded; keep the cache bounded
            self._cache.clear()
        self._cache[path] = found
        return found

    def resolve(self, spec: FaultSpec) -> frozenset[Operation]:
        """The operations ``spec`` matches; ``InvalidFault`` if none, or if its status is undocumented."""
        if spec.path != ANY and spec.path not in self.templates:
            raise InvalidFault(
                f"path {spec.path!r} is not in the spec; use one of {', '.join(self.templates)} or *"
            )
        matched = frozenset(
            op for op in self.operations if spec.method in (ANY, op[0]) and spec.path in (ANY, op[1])
        )
        if not matched:
            raise InvalidFault(f"the spec has no operation {spec.method} {spec.path}")
        if spec.status is not None:
            allowed = frozenset.intersection(*(self.operations[op] for op in matched))
            if spec.status not in allowed:
                where = f"{spec.method} {spec.path}"
                where = f"every operation of '{where}'" if len(matched) > 1 else where
                raise InvalidFault(
                    f"status {spec.status} is not documented for {where}, so it cannot be injected "
                    f"there; use one of {', '.join(str(s) for s in sorted(allowed))}"
                )
        return matched


class Fault:
    """A fault in a table: its spec, id, the operations it matches, and how often it has fired."""

    __slots__ = ("hits", "id", "operations", "org", "remaining", "rng", "spec")

    def __init__(self, fault_id: str, spec: FaultSpec, operations: frozenset[Operation], seed: int) -> None:
        self.id = fault_id
        self.spec = spec
        self.operations = operations
        self.org = spec.org
        self.remaining = spec.times
        self.hits = 0
        self.rng = random.Random(f"{seed}/{fault_id}")

    def __repr__(self) -> str:
        return f"<Fault {self.id}: {self.spec}, {self.hits} hits>"

    @property
    def decides(self) -> bool:
        """Whether firing decides the answer (a status or a drop), not only delays it."""
        return self.spec.status is not None or self.spec.drop

    def fire(self) -> bool:
        """Whether the fault applies to this matching request; counts it when it does."""
        if self.remaining == 0:
            return False
        if self.spec.fraction < 1 and self.rng.random() >= self.spec.fraction:
            return False
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def to_json(self) -> dict[str, Any]:
        """How ``GET /__admin/faults`` shows it: the spec with ``org`` (a hash) for the token."""
        body = {key: value for key, value in self.spec.to_json().items() if key != "token"}
        return {"id": self.id, **body, "org": self.org, "hits": self.hits, "remaining": self.remaining}


@dataclass(frozen=True, slots=True)
class Decision:
    """What the faults do to one request: a delay, then maybe an answer (``fault``) instead of the app's."""

    delay: float
    fault: Fault | None
    fired: tuple[str, ...]


class FaultTable:
    """The faults of one app: those given at start (restored by ``reset``), then those added at run time."""

    def __init__(self, catalog: Catalog, startup: Iterable[FaultSpec] = (), *, seed: int = 0) -> None:
        self.catalog = catalog
        self.seed = seed
        self._startup = [(f"f{n}", spec, self._resolve_startup(spec)) for n, spec in enumerate(startup, 1)]
        if len(self._startup) > MAX_FAULTS:
            raise InvalidFault(f"at most {MAX_FAULTS} faults, got {len(self._startup)}")
        self._faults: list[Fault] = []
        self._next = 1
        self.reset()

    def _resolve_startup(self, spec: FaultSpec) -> frozenset[Operation]:
        try:
            return self.catalog.resolve(spec)
        except InvalidFault as exc:
            raise InvalidFault(f"fault '{spec}': {exc}") from None

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, spec: FaultSpec) -> Fault:
        """Add a fault after the others; ``InvalidFault`` if it cannot be injected or the table is full."""
        operations = self.catalog.resolve(spec)
        if len(self._faults) >= MAX_FAULTS:
            raise InvalidFault(f"at most {MAX_FAULTS} faults at once; DELETE /__admin/faults first")
        fault = Fault(f"f{self._next}", spec, operations, self.seed)
        self._next += 1
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> None:
        """Remove one fault by id, or ``FaultNotFound``."""
        for index, fault in enumerate(self._faults):
            if fault.id == fault_id:
                del self._faults[index]
                return
        raise FaultNotFound()

    def clear(self, token: str | None = None) -> None:
        """Remove every fault, or only those scoped to ``token``'s organization."""
        if token is None:
            self._faults = []
        else:
            org = org_key(token)
            self._faults = [fault for fault in self._faults if fault.org != org]

    def reset(self, token: str | None = None) -> None:
        """Back to the faults given at start, with fresh counters (for all, or one organization's)."""
        org = None if token is None else org_key(token)
        kept = [fault for fault in self._faults if org is not None and fault.org != org]
        fresh = [
            Fault(fault_id, spec, operations, self.seed)
            for fault_id, spec, operations in self._startup
            if org is None or spec.org == org
        ]
        self._faults = sorted(kept + fresh, key=lambda fault: int(fault.id[1:]))
        if org is None:
            # Ids restart, so a test that adds faults after a reset draws the same numbers every run.
            self._next = len(self._startup) + 1

    def decide(self, method: str, path: str, org: str | None) -> Decision | None:
        """What the faults do to a request to ``method path`` from organization ``org`` (None: nothing)."""
        template = self.catalog.template(path)
        if template is None:
            return None
        operation = (method, template)
        delay = 0.0
        decided: Fault | None = None
        fired: list[str] = []
        for fault in self._faults:
            if operation not in fault.operations or (fault.org is not None and fault.org != org):
                continue
            if decided is not None and fault.decides:
                continue  # the answer is taken: later statuses and drops are neither used nor counted
            if not fault.fire():
                continue
            fired.append(fault.id)
            if fault.spec.latency is not None:
                delay += fault.spec.latency.seconds(fault.rng)
            if fault.decides:
                decided = fault
        if not fired:
            return None
        return Decision(delay, decided, tuple(fired))
