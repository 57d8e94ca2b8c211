"""The request journal: the last N requests to the product API in a ring buffer, secrets masked when read.

Recording costs one tuple appended to a bounded deque: bodies are kept as the bytes that
went by (at most ``BODY_LIMIT`` of each) and parsed only when the journal is read. Reading
masks every secret field (``password``, the spec's write-only properties) and then every
password so found wherever else it shows: in other bodies and in paths. The organization
is a short hash of its token; the raw bytes never leave this module.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from mockserver.controls.faults import path_matcher
from mockserver.domain.models import format_timestamp

__all__ = ["BODY_LIMIT", "DEFAULT_JOURNAL_SIZE", "MASK", "MAX_JOURNAL_SIZE", "Journal"]

DEFAULT_JOURNAL_SIZE = 1000
MAX_JOURNAL_SIZE = 100_000
BODY_LIMIT = 16 * 1024  # bytes shown of each body; a longer one is shown cut, as text
PAUSE_EVERY = 64  # requests read between two pauses offered by iter_entries()
MASK = "********"

# id, started (Unix time), method, path, status (None: no answer), duration_ms, org,
# request body, response body, ids of the faults applied. A tuple of atoms: cheap to build,
# and left alone by the garbage collector.
_Entry = tuple[int, float, str, str, int | None, float, str | None, bytes, bytes, tuple[str, ...]]


class _Masker:
    """Masks secret fields in bodies and, after ``collect``, the secrets found wherever they occur."""

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields
        self.needles = tuple(f'"{name}"'.encode() for name in sorted(fields))
        names = "|".join(re.escape(name) for name in sorted(fields))
        # A secret field in a body that is not JSON (malformed, or cut): its value up to the
        # closing quote, or to the end when the body was cut inside it.
        self.in_text = re.compile(rf'("(?:{names})"\s*:\s*)"((?:[^"\\]|\\.)*)"?')
        self.secrets: set[str] = set()

    def collect(self, body: bytes) -> None:
        """Remember the secrets of a request body (only bodies that name a secret field are parsed)."""
        if any(needle in body for needle in self.needles) or b"\\u" in body:
            self.body(body)

    def body(self, raw: bytes) -> tuple[Any, bool]:
        """A body as shown: JSON, text when it is not JSON (or was cut), None when empty; and if cut."""
        if not raw:
            return None, False
        if len(raw) <= BODY_LIMIT:
            try:
                return self._fields(json.loads(raw)), False
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse: as text
                pass
        text = self._text_fields(raw[:BODY_LIMIT].decode("utf-8", errors="replace"))
        return text, len(raw) > BODY_LIMIT

    def known(self, value: Any) -> Any:
        """``value`` with every collected secret masked in its strings (keys included)."""
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {self.known(key): self.known(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.known(item) for item in value]
        return value

    def _fields(self, value: Any) -> Any:
        if isinstance(value, dict):
            masked: dict[str, Any] = {}
            for key, item in value.items():
                if key in self.fields:
                    if isinstance(item, str) and item:
                        self.secrets.add(item)
                    masked[key] = MASK
                else:
                    masked[key] = self._fields(item)
            return masked
        if isinstance(value, list):
            return [self._fields(item) for item in value]
        return value

    def _text_fields(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(2):
                self.secrets.add(match.group(2))
            return f'{match.group(1)}"{MASK}"'

        return self.in_text.sub(replace, text)


class Journal:
    """A ring buffer of the last ``size`` requests, newest last."""

    def __init__(
        self, size: int = DEFAULT_JOURNAL_SIZE, secret_fields: Iterable[str] = ("password",)
    ) -> None:
        if not 1 <= size <= MAX_JOURNAL_SIZE:
            raise ValueError(f"journal size must be between 1 and {MAX_JOURNAL_SIZE}, got {size}")
        self.size = size
        self.secret_fields = frozenset(secret_fields)
        self._entries: deque[_Entry] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Journal: {len(self._entries)} of {self.size} entries>"

    def record(
        self,
        *,
        started: float,
        method: str,
        path: str,
        status: int | None,
        duration_ms: float,
        org: str | None,
        request_body: bytes = b"",
        response_body: bytes = b"",
        faults: tuple[str, ...] = (),
    ) -> None:
        """Keep one request (``started`` is a Unix time; ``status`` None: no answer was sent)."""
        self._entries.append(
            (
                next(self._ids),
                started,
                method,
                path,
                status,
                duration_ms,
                org,
                request_body,
                response_body,
                faults,
            )
        )

    def entries(
        self, *, org: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        """Kept requests as JSON objects, oldest first, filtered by organization hash, method and path.

        ``path`` is a concrete path or a template (``/sip-trunks/{id}``). Secrets are masked,
        also those of the requests the filters leave out.
        """
        return [entry for entry in self.iter_entries(org=org, method=method, path=path) if entry is not None]

    def iter_entries(
        self, *, org: str | None = None, method: str | None = None, path: str | None = None
    ) -> Iterator[dict[str, Any] | None]:
        """``entries()`` one at a time, lazily, from the journal as it is when this is called.

        While it collects the secrets to mask (before the first entry), it yields ``None``
        every ``PAUSE_EVERY`` requests read: points where a caller may let others run.
        """
        return self._iter(list(self._entries), org, method.upper() if method else None, path)

    def _iter(
        self, snapshot: list[_Entry], org: str | None, method: str | None, path: str | None
    ) -> Iterator[dict[str, Any] | None]:
        masker = _Masker(self.secret_fields)
        for index, entry in enumerate(snapshot, 1):
            masker.collect(entry[7])
            if index % PAUSE_EVERY == 0:
                yield None
        pattern = path_matcher(path) if path else None
        for entry in snapshot:
            if (
                (org is None or entry[6] == org)
                and (method is None or entry[2] == method)
                and (pattern is None or pattern.match(entry[3]))
            ):
                yield _to_json(entry, masker)

    def clear(self, org: str | None = None) -> None:
        """Forget every entry, or only ``org``'s."""
        if org is None:
            self._entries.clear()
        else:
            self._entries = deque((e for e in self._entries if e[6] != org), maxlen=self.size)


def _to_json(entry: _Entry, masker: _Masker) -> dict[str, Any]:
    entry_id, started, method, path, status, duration_ms, org, request, response, faults = entry
    request_body, request_cut = masker.body(request)
    response_body, response_cut = masker.body(response)
    return {
        "id": entry_id,
        "time": format_timestamp(datetime.fromtimestamp(started, UTC)),
        "method": method,
        "path": masker.known(path),
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "org": org,
        "request_body": masker.known(request_body),
        "response_body": masker.known(response_body),
        "truncated": request_cut or response_cut,
        "faults": list(faults),
    }
