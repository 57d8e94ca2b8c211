"""Mutants that accept invalid input, refuse valid input, or crash on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from mockserver.domain.models import Trunk
from mockserver.domain.store import Store

from .harness import Rewriting, Scope, json_body


@dataclass
class PortClampedIntoRange(Rewriting):
    """POST /sip-trunks with a port out of 1-65535 is not refused: the port is clamped into range."""

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = json_body(body)
        port = sent.get("port") if isinstance(sent, dict) else None
        if scope["method"] == "POST" and type(port) is int and not 1 <= port <= 65535:
            return json.dumps({**sent, "port": min(max(port, 1), 65535)}).encode()
        return body


@dataclass
class UnknownPropertiesIgnored(Rewriting):
    """POST /sip-trunks with unknown properties is not refused: they are dropped."""

    KNOWN: ClassVar[frozenset[str]] = frozenset({"name", "host", "port", "username", "password"})

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = json_body(body)
        if scope["method"] == "POST" and isinstance(sent, dict) and set(sent) - self.KNOWN:
            return json.dumps({key: value for key, value in sent.items() if key in self.KNOWN}).encode()
        return body


@dataclass
class IPv6HostRefused(Rewriting):
    """POST /sip-trunks with a bracketed IPv6 host (valid in the spec) is refused with 400."""

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = json_body(body)
        host = sent.get("host") if isinstance(sent, dict) else None
        if scope["method"] == "POST" and isinstance(host, str) and host.startswith("["):
            return json.dumps({**sent, "host": ""}).encode()  # the app refuses an empty host
        return body


class NonLatin1NameCrashes(Store):
    """A trunk name outside Latin-1 (emoji, CJK) is a 500, as if stored in a latin-1 column."""

    def create_trunk(self, token: str, **fields: Any) -> Trunk:
        if any(ord(char) > 0xFF for char in fields["name"]):
            raise ValueError("the name does not fit a latin-1 column")
        return super().create_trunk(token, **fields)


class MaxPortCrashes(Store):
    """Port 65535 (the largest valid one) is a 500, as if ``port + 1`` overflowed 16 bits."""

    def create_trunk(self, token: str, **fields: Any) -> Trunk:
        if fields.get("port") == 65535:
            raise OverflowError("port + 1 does not fit in 16 bits")
        return super().create_trunk(token, **fields)
