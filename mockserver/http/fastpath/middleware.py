"""The fast path's ASGI middleware: route a request to its compiled operation, or pass it on."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connexion.middleware.abstract import SpecMiddleware
from connexion.spec import Specification
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.http.fastpath.compile import NotFast, compile_operation
from mockserver.http.fastpath.operation import Operation

__all__ = ["FastPathMiddleware", "operations"]

logger = logging.getLogger("mockserver.http.fastpath")

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class _Table:
    """The fast routes of one API: exact paths, then templated ones in spec order."""

    prefix: str
    exact: dict[str, dict[str, Operation]]
    templated: list[tuple[re.Pattern[str], dict[str, Operation]]]


class FastPathMiddleware(SpecMiddleware):
    """Serves the operations it could compile, for requests it proves valid; calls ``app`` for the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._tables: list[_Table] = []

    def add_api(self, specification: Specification, **kwargs: Any) -> None:
        base_path = kwargs.get("base_path")
        base = (specification.base_path if base_path is None else base_path).rstrip("/")
        exact: dict[str, dict[str, Operation]] = {}
        templated: list[tuple[re.Pattern[str], dict[str, Operation]]] = []
        for path, item in specification.get("paths", {}).items():
            methods: dict[str, Operation] = {}
            for method in _METHODS:
                if method not in item:
                    continue
                try:
                    methods[method.upper()] = compile_operation(specification, path, method, kwargs)
                except NotFast as reason:
                    logger.debug("fast path: %s %s%s left to connexion: %s", method, base, path, reason)
            full = base + path
            if "{" in path:
                templated.append((_route_pattern(full), methods))
            else:
                exact[full] = methods
        self._tables.append(_Table(base, exact, templated))
        # The most specific base path first, like connexion's mounts.
        self._tables.sort(key=lambda table: len(table.prefix), reverse=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["query_string"] or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        for table in self._tables:
            if path.startswith(table.prefix + "/"):
                break
        else:
            await self.app(scope, receive, send)
            return
        params: dict[str, str] = {}
        methods = table.exact.get(path)
        if methods is None:
            for pattern, candidates in table.templated:
                match = pattern.match(path)
                if match is not None:
                    methods, params = candidates, match.groupdict()
                    break
        operation = None if methods is None else methods.get(scope["method"])
        if operation is None:
            await self.app(scope, receive, send)
            return
        await operation(scope, receive, send, params, self.app)


def _route_pattern(template: str) -> re.Pattern[str]:
    # starlette's compile_path for parameters without a convertor: one segment, [^/]+.
    pattern = re.sub(r"\\\{([^}]+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


def operations(middleware: FastPathMiddleware) -> Iterable[str]:
    """``METHOD path`` of every operation the fast path serves (for tests and the start-up log)."""
    for table in middleware._tables:
        for path, methods in table.exact.items():
            yield from (f"{method} {path}" for method in methods)
        for pattern, methods in table.templated:
            yield from (f"{method} {pattern.pattern}" for method in methods)
