"""The mock's state on Redis, shared by replicas: a ``StateStore`` and the controls (faults, limits, journal).

Imported only when ``--store redis://...`` is given, so the in-memory mock never loads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mockserver.config import MockConfig
from mockserver.domain.models import Organization
from mockserver.redis_store.connection import RedisConnection, parse_redis_url
from mockserver.redis_store.controls import RedisControls
from mockserver.redis_store.shared import DEFAULT_PREFIX, InitSpec, SettingsMismatch, Shared
from mockserver.redis_store.store import RedisStore

__all__ = [
    "RedisConnection",
    "RedisControls",
    "RedisStore",
    "SettingsMismatch",
    "Shared",
    "open_shared",
    "parse_redis_url",
]


def open_shared(
    config: MockConfig, seed: Mapping[str, Any] | None = None, *, prefix: str = DEFAULT_PREFIX
) -> tuple[RedisStore, RedisControls]:
    """The store and controls of ``config.store`` (a Redis URL); nothing is connected until first used.

    ``seed`` (a validated state document) is built here, so a seed that breaks a rule fails
    now with ``InvalidState``; it is written only by the first replica to start.
    """
    from mockserver.controls.faults import InvalidFault
    from mockserver.controls.middleware import product_catalog, secret_fields
    from mockserver.domain.models import format_timestamp
    from mockserver.domain.store import build_state

    catalog = product_catalog()
    for fault in config.startup_faults:
        try:
            catalog.resolve(fault)
        except InvalidFault as exc:
            raise InvalidFault(f"fault '{fault}': {exc}") from None
    organizations: dict[str, Organization] = {}
    secrets: dict[str, str] = {}
    if seed is not None:
        organizations, secrets = build_state(
            seed,
            max_trunks=config.max_trunks,
            now=format_timestamp(datetime.now(UTC)),
            new_id=lambda: str(uuid.uuid4()),
            max_organizations=config.max_organizations,
            uncounted=config.tokens,
        )
    spec = InitSpec(
        seed=seed,
        organizations=organizations,
        secrets=secrets,
        startup_faults=config.startup_faults,
        rate_limit=config.rate_limit,
        max_trunks=config.max_trunks,
        max_orgs=config.max_organizations,
        keep=config.tokens,
        fault_seed=config.fault_seed,
        journal_size=config.journal_size,
    )
    shared = Shared(RedisConnection(config.store), spec, prefix)
    controls = RedisControls(
        shared,
        catalog,
        secret_fields(),
        journal_size=config.journal_size,
        fault_seed=config.fault_seed,
        accepts_any_key=not config.tokens,
    )
    return RedisStore(shared), controls
