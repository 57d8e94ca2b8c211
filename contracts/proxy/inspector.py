"""The proxy's judge: every rule on one exchange, and the violations it records and prints."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.http.curl import Masker
from contracts.proxy.config import ProxyConfig
from contracts.proxy.exchange import Exchange, Request
from contracts.proxy.exchange_checks import Finding, Spec
from contracts.proxy.memory import Memory
from contracts.proxy.stateful import judge
from contracts.proxy.violations import Side, Violation, ViolationLog
from contracts.secrets import SecretBook, members

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation

__all__ = ["LEAKS", "Inspector"]

# Answers that ``--enforce`` never lets through: what one organization must not see.
LEAKS = frozenset({"password_never_returned", "isolation_get", "isolation_list"})
# An RFC 6750 token after "Bearer", wherever an answer or a message quotes one.
_BEARER = re.compile(r"Bearer\s+(?!\$TOKEN)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)


class Inspector:
    """Applies every rule to each exchange, records violations, prints one line each."""

    def __init__(self, config: ProxyConfig, say: Callable[[str], None]) -> None:
        self.config = config
        self.spec = Spec()
        self.memory = Memory(
            max_trunks_per_key=config.max_trunks_per_key,
            max_keys=config.max_keys,
            max_facts=config.max_facts,
            say=say,
        )
        self.book = SecretBook(nonce="proxy")
        self.log = ViolationLog(config.max_violations)
        self.exchanges = 0
        self._say = say
        self._tick = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        """The next instant: requests start and answers end at distinct, ordered ticks."""
        with self._lock:
            self._tick += 1
            return self._tick

    def on_request(self, request: Request) -> tuple[APIOperation | None, list[Finding]]:
        """The request's operation and what it breaks; its password, if any, is searched from now on."""
        body = request.json
        if isinstance(body, dict) and "password" in body:
            others = [value for name, value in members(body) if name != "password"]
            self.book.keep(body["password"], beside=others, limit=self.config.max_passwords)
        operation = self.spec.operation(request.method, request.path)
        return operation, self.spec.check_request(request, operation)

    def on_answer(
        self, exchange: Exchange, operation: APIOperation | None, refused: list[Finding]
    ) -> list[Finding]:
        """What the answer breaks: alone against the spec, against what was seen, and by leaking."""
        with self._lock:
            self.exchanges += 1
        found: list[Finding] = []
        if operation is not None:
            found += self.spec.check_answer(exchange, operation, refused)
        elif exchange.status >= 500 and exchange.status != 503:
            found.append(
                Finding("not_a_server_error", f"expected no 5xx (503 at most), got {exchange.status}")
            )
        if operation is not None and not any(f.check == "known_operation" for f in refused):
            found += judge(exchange, self.memory)
        leak = self.book.find(exchange.headers, exchange.text_body)
        if leak is not None:
            found.append(
                Finding(
                    "password_never_returned",
                    f"expected no password in the response, got {leak.form} of a password a client "
                    f"sent, in the response {leak.where}",
                )
            )
        return found

    def record(
        self, side: Side, findings: list[Finding], request: Request, status: int | None, template: str | None
    ) -> list[Violation]:
        """Turn findings into violations (masked), list them, and print one line each on stderr."""
        if not findings:
            return []
        masker = Masker.for_tokens(request.bearer)
        violations = []
        for finding in findings:
            detail = self.mask(finding.detail, masker)
            violation = Violation.now(
                side, finding.check, request.method, template or request.path, status, detail
            )
            self.log.add(violation)
            self._say(violation.line())
            violations.append(violation)
        return violations

    def mask(self, text: str, masker: Masker | None = None) -> str:
        """``text`` with no password a client sent and no API key (``Bearer …`` included)."""
        text = self.book.mask(text)
        if masker is not None:
            text = masker.mask(text)
        return _BEARER.sub("Bearer $TOKEN", text)

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "upstream": self.config.upstream,
            "enforce": self.config.enforce,
            "exchanges": self.exchanges,
            "violations": self.log.document()["count"],
            "keys": self.memory.keys,
        }
