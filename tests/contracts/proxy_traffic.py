"""A short scripted client for the proxy tests: every operation, the inputs mutants trip on, two keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from contracts.proxy import ProxyConfig, running_proxy

from .helpers import TOKEN_A, TOKEN_B

# Long enough to be searched (8 characters or more), plain ASCII as real passwords are.
PASSWORD = "s3cret-Pass-2026"
TRUNK = {"name": "Main Trunk", "host": "sip.provider.com", "username": "myuser", "password": PASSWORD}
# The 51st trunk is past a first page of 50.
MANY = 51
TIMEOUT = 10.0


@dataclass
class Watched:
    """A proxy in front of an upstream, and every line it printed."""

    base_url: str
    lines: list[str] = field(default_factory=list)
    violations: Callable[[], list[dict[str, object]]] = list

    def checks(self, side: str = "server") -> set[str]:
        return {str(item["check"]) for item in self.violations() if item["side"] == side}


@contextmanager
def watching(upstream: str, **options: object) -> Iterator[Watched]:
    """A proxy in front of ``upstream`` (a loopback URL) for the block."""
    lines: list[str] = []
    config = ProxyConfig(upstream=upstream).replace(**options)
    with running_proxy(config, say=lines.append) as proxy:

        def violations() -> list[dict[str, object]]:
            return [v.as_dict() for v in proxy.app.inspector.log.items()]

        yield Watched(proxy.base_url, lines, violations)


def client(base_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT, trust_env=False)


def drive(base_url: str) -> None:
    """Every operation, by two keys, with the inputs that trip the mutants of tests/contracts/mutants."""
    with client(base_url, TOKEN_A) as a, client(base_url, TOKEN_B) as b, client(base_url, None) as anonymous:
        a.get("/sip-trunks")
        numbers = a.get("/phone-numbers").json()["phone_numbers"]
        first = a.post("/sip-trunks", json=TRUNK).json()  # no port: 5060
        second = a.post("/sip-trunks", json={**TRUNK, "name": "Backup", "port": 5070}).json()
        a.get(f"/sip-trunks/{first['id']}")
        a.get("/sip-trunks")
        a.patch(f"/phone-numbers/{numbers[0]['id']}", json={"transfer_trunk_id": first["id"]})
        a.patch(f"/phone-numbers/{numbers[1]['id']}", json={"transfer_trunk_id": second["id"]})
        # Another key: lists, reads, links to and deletes the first key's trunk.
        b.get("/sip-trunks")
        b.get(f"/sip-trunks/{second['id']}")
        other_numbers = b.get("/phone-numbers").json()["phone_numbers"]
        b.patch(f"/phone-numbers/{other_numbers[0]['id']}", json={"transfer_trunk_id": second["id"]})
        # Delete, then read it back every way, then delete again, then link to it.
        a.delete(f"/sip-trunks/{first['id']}")
        a.get(f"/sip-trunks/{first['id']}")
        a.get("/sip-trunks")
        a.get("/phone-numbers")
        a.get(f"/phone-numbers/{numbers[0]['id']}")
        a.delete(f"/sip-trunks/{first['id']}")
        a.patch(f"/phone-numbers/{numbers[2]['id']}", json={"transfer_trunk_id": first["id"]})
        # Inputs: invalid ones that must be refused, valid ones that must be accepted.
        a.post("/sip-trunks", json={**TRUNK, "port": 70000})
        a.post("/sip-trunks", json={**TRUNK, "region": "eu"})
        a.post("/sip-trunks", json={key: value for key, value in TRUNK.items() if key != "name"})
        a.post("/sip-trunks", json={**TRUNK, "host": "[2001:db8::1]"})
        a.post("/sip-trunks", json={**TRUNK, "name": "Trunk ☎ 東京"})
        a.post("/sip-trunks", json={**TRUNK, "port": 65535})
        a.post("/sip-trunks", content=json.dumps(TRUNK), headers={"Content-Type": "Application/JSON"})
        a.post(
            "/sip-trunks", content=b"[" * 30000 + b"]" * 30000, headers={"Content-Type": "application/json"}
        )
        a.get("/sip-trunks/not-a-uuid")
        anonymous.get("/sip-trunks")
        # Enough trunks for a first page of 50 to drop the newest, then read the newest back.
        newest = [a.post("/sip-trunks", json={**TRUNK, "name": f"Trunk {n}"}).json() for n in range(MANY)]
        a.get("/sip-trunks")
        a.get(f"/sip-trunks/{newest[-1]['id']}")
        b.delete(f"/sip-trunks/{second['id']}")
