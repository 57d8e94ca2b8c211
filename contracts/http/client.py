"""The target as our own suites see it: an HTTP client that records every exchange."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

import httpx

from contracts.engine.verdicts import Violation
from contracts.http import bounded
from contracts.http.curl import Masker, render
from contracts.http.paths import write_outside_collections
from contracts.safety.guard import MAX_RATE_LIMIT_RETRIES, Guard, Halted, Refused

__all__ = ["DEFAULT_AUTH", "Exchange", "Observer", "Target"]

# Exchanges kept for reproductions: enough for any one step of our suites.
RECENT = 64
# Of each kept exchange's response body, this much: reproductions show requests, not answers.
KEPT_BODY = 64 * 1024
_SEQUENCE = itertools.count()


@dataclass(frozen=True)
class Exchange:
    """One request and what came back (``status`` 0 when nothing did)."""

    method: str
    url: str
    path: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # Increases with every exchange of the process: orders exchanges of several targets.
    sequence: int = field(default_factory=lambda: next(_SEQUENCE), compare=False)

    @property
    def label(self) -> str:
        """``METHOD /path``."""
        return f"{self.method} {self.path}"

    def header(self, name: str) -> str | None:
        """The first value of a response header, or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        """The decoded JSON body; ``ValueError`` if it is not JSON."""
        return json.loads(self.body)

    def describe(self) -> str:
        """``404 Not Found {"type": ...}`` for messages, the body cut short."""
        if self.status == 0:
            return "no answer"
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        text = self.body.decode("utf-8", "replace")
        if len(text) > 200:
            text = text[:200] + "…"
        return " ".join(part for part in (str(self.status), reason, text) if part)

    def curl(self, masker: Masker) -> str:
        return render(self.method, self.url, self.request_headers, self.request_body, masker)

    def trimmed(self) -> Exchange:
        """This exchange with at most ``KEPT_BODY`` bytes of its answer, to keep for reproductions."""
        if len(self.body) <= KEPT_BODY:
            return self
        return dataclasses.replace(self, body=self.body[:KEPT_BODY], sequence=self.sequence)


def _unanswered(exc: httpx.TransportError, timeout: float) -> tuple[str, str]:
    """(expected, got) for a request that got no valid answer."""
    if isinstance(exc, bounded.ResponseTooLarge):
        return f"an answer of at most {bounded.format_size(exc.limit)}", str(exc)
    if isinstance(exc, bounded.DeadlineExceeded):
        return f"a whole answer within {timeout:g} s", str(exc)
    return "an HTTP answer", f"{type(exc).__name__}: {exc}"


# Called with every exchange, e.g. to search it for passwords; may raise ``Violation``.
Observer = Callable[[Exchange], None]


class _DefaultAuth:
    def __repr__(self) -> str:
        return "DEFAULT_AUTH"


DEFAULT_AUTH: Final = _DefaultAuth()


class Target:
    """One organization's view of the API: every request carries its bearer token.

    ``request`` never raises for an HTTP status; a request that gets no answer is a
    ``Violation`` of the check it served.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        max_body: int = bounded.DEFAULT_MAX_BODY,
        observer: Observer | None = None,
        transport: httpx.BaseTransport | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        # Called with every exchange; the engine sets it once it has a run context.
        self.observer = observer
        # The run's safety policy: pace, budget, what may be sent, the ledger. None: no limits.
        self.guard = guard
        # Each request: ``timeout`` seconds in all (connect, headers, body), ``max_body`` bytes read.
        self.timeout = timeout
        self.max_body = max_body
        # No request goes on past this ``time.monotonic()`` value (a clean-up's deadline), if set.
        self.not_after: float | None = None
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport or bounded.bounded_transport()
        )
        self.count = 0
        self._recent: deque[Exchange] = deque(maxlen=RECENT)

    def request(
        self,
        check: str,
        method: str,
        path: str,
        *,
        json_body: object | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        authorization: str | _DefaultAuth | None = DEFAULT_AUTH,
    ) -> Exchange:
        """Send one request: ``json_body`` (unless None) as JSON, or ``content`` as is.

        ``authorization`` None sends no Authorization header; a string sends that value.
        With a guard, a ``429`` is waited out and retried; a request the run's safety
        options forbid raises ``Refused`` and is not sent.
        """
        headers: dict[str, str] = {}
        if isinstance(authorization, _DefaultAuth):
            if self._token is not None:
                headers["Authorization"] = f"Bearer {self._token}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        guard = self.guard
        sent_auth = headers.get("Authorization")
        outside = write_outside_collections(method, path)
        if outside is not None:
            raise Refused(outside)
        if guard is not None:
            refusal = guard.refusal(method, path, sent_auth)
            if refusal is not None:
                raise Refused(f"refused to send {refusal}")
            guard.before_write(method, path, sent_auth)
            # The run's trunks carry its prefix, for --cleanup.
            if method.upper() == "POST" and path == "/sip-trunks" and isinstance(json_body, dict):
                json_body = (
                    {**json_body, "name": guard.ledger.name(json_body.get("name"))}
                    if "name" in json_body
                    else json_body
                )
        if json_body is not None:
            content = json.dumps(json_body).encode("utf-8")
            content_type = content_type or "application/json"
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = f"{self.base_url}{path}"
        self.count += 1
        request_headers = tuple(headers.items())
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            if guard is not None:
                guard.admit()
            try:
                fetched = self._fetch(method, path, headers, content)
            except bounded.Cancelled:
                raise Halted("interrupted") from None  # stopped in another thread: not the target's fault
            except httpx.TransportError as exc:
                sent = Exchange(method, url, path, request_headers, content, status=0)
                self._recent.append(sent)
                raise Violation.expected(check, *_unanswered(exc, self.timeout), sent) from exc
            if guard is None:
                break
            guard.observe(method, path, sent_auth, fetched.status, fetched.body)
            if fetched.status != 429 or attempt == MAX_RATE_LIMIT_RETRIES:
                break
            if not guard.wait_out(fetched.header("retry-after"), not_after=self.not_after):
                break
        exchange = Exchange(
            method=method,
            url=url,
            path=path,
            request_headers=request_headers,
            request_body=content,
            status=fetched.status,
            headers=fetched.headers,
            body=fetched.body,
        )
        self._recent.append(exchange.trimmed())
        if self.observer is not None:
            self.observer(exchange)
        return exchange

    def _fetch(
        self, method: str, path: str, headers: dict[str, str], content: bytes | None
    ) -> bounded.Fetched:
        request = self._client.build_request(method, path, headers=headers, content=content)
        return bounded.fetch(
            self._client,
            request,
            timeout=self.timeout,
            max_body=self.max_body,
            not_after=self.not_after,
            cancelled=self.guard.abandons_in_flight if self.guard is not None else None,
        )

    def since(self, mark: int) -> tuple[Exchange, ...]:
        """The exchanges sent after ``count`` was ``mark`` (the last few dozen at most)."""
        wanted = min(self.count - mark, len(self._recent))
        return tuple(self._recent)[len(self._recent) - wanted :] if wanted > 0 else ()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
