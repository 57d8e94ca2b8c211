"""One request and its answer as the proxy saw them, with the readings every rule needs."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

__all__ = ["NOT_JSON", "Exchange", "Request", "key_hash", "media_type"]

Headers = list[tuple[str, str]]


class cached_property(Generic[T]):
    """functools.cached_property without the lock Python 3.11 takes on every first read.

    Each exchange reads a few of these once each, on the event loop's thread; the lock was a
    visible part of judging one. The value is kept in the instance's ``__dict__``.
    """

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> cached_property[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> T | cached_property[T]:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


# What ``json`` is for a body that is not JSON (None is JSON's null).
NOT_JSON: object = object()


def key_hash(key: str) -> str:
    """What the proxy remembers of an API key: a short SHA-256, never the key."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def media_type(headers: Headers) -> str | None:
    """The ``Content-Type`` without parameters, lower case; None when there is none."""
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return None


def _json(body: bytes) -> Any:
    """The JSON text of a UTF-8 body; a byte order mark is not JSON (RFC 8259 §8.1), as the API says."""
    if not body:
        return NOT_JSON  # most requests: no body, and a parse error costs more than the parse
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return NOT_JSON


@dataclass
class Request:
    """The request as the client sent it. ``started`` orders it among the answers already seen."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes
    started: int = 0

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name), None)

    @cached_property
    def bearer(self) -> str | None:
        """The API key of ``Authorization: Bearer <key>``; None when the header has another shape."""
        value = self.header("authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None

    @cached_property
    def key(self) -> str:
        """Whose memory this request reads and writes: the key's hash, or ``anonymous``."""
        return key_hash(self.bearer) if self.bearer is not None else "anonymous"

    @cached_property
    def media_type(self) -> str | None:
        return media_type(self.headers)

    @cached_property
    def json(self) -> Any:
        """The JSON body, or ``NOT_JSON``."""
        return _json(self.body)


@dataclass
class Exchange:
    """A request and the answer the upstream gave to it; ``finished`` orders the answer."""

    request: Request
    status: int
    headers: Headers
    body: bytes
    finished: int = 0
    # The operation of the spec the request is for, e.g. ``("POST", "/sip-trunks")``.
    operation: tuple[str, str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The first value of a header of the answer (``name`` in lower case), or None."""
        return next((value for key, value in self.headers if key.lower() == name), None)

    @cached_property
    def text_body(self) -> bytes:
        """The body with any ``Content-Encoding`` undone (gzip, deflate), as checks read it."""
        encoding = next((v.strip().lower() for k, v in self.headers if k.lower() == "content-encoding"), "")
        if encoding in ("gzip", "deflate"):
            try:
                return zlib.decompress(self.body, 47)  # 47: gzip or zlib header, detected
            except zlib.error:
                return self.body
        return self.body

    @cached_property
    def media_type(self) -> str | None:
        return media_type(self.headers)

    @cached_property
    def json(self) -> Any:
        return _json(self.text_body)
