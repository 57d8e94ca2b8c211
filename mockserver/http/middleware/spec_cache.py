"""ASGI middleware serving ``/openapi.json`` documents from memory after connexion built them once."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SpecDocumentCache"]


class SpecDocumentCache:
    """The first GET of a spec document goes to connexion; later ones get the same bytes.

    connexion rebuilds the document on every request (a deep copy of the spec, a check
    against the OpenAPI metaschema, ``$ref`` resolution): ~50 ms during which the event loop
    serves nothing else. The document depends only on the path and the ``root_path`` (the
    ``servers`` entry), and the specs never change while the mock runs, so the answer is
    kept per (path, root_path). Only complete 200 answers are kept.
    """

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths
        self._kept: dict[tuple[str, str], list[Message]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or _route_path(scope) not in self.paths:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("root_path", ""))
        kept = self._kept.get(key)
        if kept is None:
            await self._pass_and_keep(key, scope, receive, send)
            return
        for message in kept:
            await send(_copy(message))

    async def _pass_and_keep(self, key: tuple[str, str], scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            # A copy: the layers outside ours may add headers to what they are sent.
            messages.append(_copy(message))
            await send(message)

        await self.app(scope, receive, keep)
        complete = messages and not messages[-1].get("more_body", False)
        if complete and messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200:
            self._kept[key] = messages


def _route_path(scope: Scope) -> str:
    """The path within the app: servers put ``root_path`` in front of it (ASGI), routing strips it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _copy(message: Message) -> Message:
    """A message another layer can change without changing ours."""
    copied = dict(message)
    if "headers" in copied:
        copied["headers"] = list(copied["headers"])
    return copied
