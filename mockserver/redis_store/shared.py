"""What replicas on one Redis agree on (seed, controls given at start, caps); initializing the state.

The first replica to run the ``init`` script writes the seed (and makes it the baseline of
``POST /__admin/reset``), the faults and rate limit given at start, and a fingerprint of all
that; the next ones only compare fingerprints. A replica started with other settings is
refused at start (``SettingsMismatch``). When a script finds no state (a FLUSHDB, a Redis
restarted without persistence), the replica that sees it initializes again and retries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.controls.faults import FaultSpec
from mockserver.controls.rate_limit import RateLimit
from mockserver.domain.errors import StoreUnavailable
from mockserver.domain.models import Organization
from mockserver.redis_store.connection import RedisConnection, RedisError
from mockserver.redis_store.lua import SCRIPTS
from mockserver.redis_store.records import dump_state, org_hash

__all__ = ["DEFAULT_PREFIX", "InitSpec", "SettingsMismatch", "Shared", "fault_fields"]

DEFAULT_PREFIX = "sip-trunks:"
# Error replies of our scripts that are answers (refusals), not failures of Redis.
REFUSALS = frozenset({"NO_TRUNK", "NO_NUMBER", "UNKNOWN_TRUNK", "LIMIT", "ORG_LIMIT", "FULL", "NO_FAULT"})


class SettingsMismatch(ValueError):
    """Redis already holds a mock's state started with other settings (seed, faults, caps...)."""


def fault_fields(spec: FaultSpec) -> dict[str, str]:
    """A fault as the Lua scripts read it: every value a string."""
    latency = spec.latency
    return {
        "method": spec.method,
        "path": spec.path,
        "org": spec.org or "",
        "decides": "1" if spec.status is not None or spec.drop else "0",
        "fraction": repr(float(spec.fraction)),
        "remaining": "-1" if spec.times is None else str(spec.times),
        "lat_min": "" if latency is None else repr(latency.min_ms),
        "lat_max": "" if latency is None else repr(latency.max_ms),
        "spec": json.dumps(spec.to_json(), sort_keys=True),
    }


@dataclass(frozen=True)
class InitSpec:
    """Everything the first replica writes, and what the others must have been started with."""

    seed: Mapping[str, Any] | None = None
    organizations: Mapping[str, Organization] = field(default_factory=dict)  # the seed, built
    secrets: Mapping[str, str] = field(default_factory=dict)
    startup_faults: tuple[FaultSpec, ...] = ()
    rate_limit: RateLimit | None = None
    max_trunks: int = 1000
    max_orgs: int = 0  # 0: no cap
    keep: tuple[
        str, ...
    ] = ()  # tokens never evicted (an allow-list): their organizations' hashes go to Redis
    fault_seed: int = 0
    journal_size: int = 1000

    def fingerprint(self) -> str:
        """A digest of the settings every replica must share (the seed as given, not as built)."""
        document = {
            "seed": self.seed,
            "faults": [fault_fields(spec) for spec in self.startup_faults],
            "rate_limit": None if self.rate_limit is None else str(self.rate_limit),
            "max_trunks": self.max_trunks,
            "max_orgs": self.max_orgs,
            "keep": sorted(org_hash(token) for token in self.keep),
            "fault_seed": self.fault_seed,
            "journal_size": self.journal_size,
        }
        text = json.dumps(document, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Shared:
    """The connection, the key prefix and the settings of one mock's state in Redis."""

    def __init__(self, connection: RedisConnection, spec: InitSpec, prefix: str = DEFAULT_PREFIX) -> None:
        self.connection = connection
        self.spec = spec
        self.prefix = prefix
        self._fingerprint = spec.fingerprint()

    def __repr__(self) -> str:
        return f"<Shared {self.connection.label} prefix={self.prefix!r}>"

    @property
    def label(self) -> str:
        """The Redis URL, password masked."""
        return self.connection.label

    async def run(self, name: str, *args: Any) -> Any:
        """Run a script; when Redis holds no state any more, initialize it again and run it once more."""
        script = SCRIPTS[name]
        try:
            return await script(self.connection, self.prefix, *args)
        except RedisError as exc:
            if exc.code != "UNINIT":
                raise self._failure(exc) from None
        await self.initialize()
        try:
            return await script(self.connection, self.prefix, *args)
        except RedisError as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: RedisError) -> Exception:
        # A refusal goes back to the caller; anything else (OOM, BUSY, READONLY...) is Redis failing.
        if exc.code in REFUSALS:
            return exc
        return StoreUnavailable(f"Redis at {self.label}: {exc}")

    async def initialize(self) -> bool:
        """Write the state if Redis has none; True if this call wrote it. ``SettingsMismatch`` on a clash."""
        spec = self.spec
        rate = spec.rate_limit
        try:
            existing = await SCRIPTS["init"](
                self.connection,
                self.prefix,
                self._fingerprint,
                dump_state(spec.organizations, spec.secrets),
                json.dumps([fault_fields(fault) for fault in spec.startup_faults]),
                "" if rate is None else str(rate.requests),
                "" if rate is None else repr(float(rate.seconds)),
                str(spec.max_orgs),
                *(org_hash(token) for token in spec.keep),
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.label}: {exc}") from None
        if existing and existing != self._fingerprint:
            raise SettingsMismatch(
                f"Redis at {self.label} already holds the state of a mock started with other settings "
                "(seed, --fault, --latency, --rate-limit, --max-trunks, --max-organizations, --token, "
                "--journal-size or --fault-seed); "
                "start every replica with the same ones, or empty that database first "
                "(redis-cli -n DB FLUSHDB) or use another database number"
            )
        return not existing
