"""ASGI middleware lower-casing the media type of ``Content-Type``: HTTP says it is case-insensitive."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MediaTypeMiddleware"]


class MediaTypeMiddleware:
    """``Application/JSON`` is ``application/json`` (RFC 9110 §8.3.1).

    connexion accepts a mixed-case JSON media type but then hands the handler raw bytes
    instead of the parsed body (a 500); one normalised header serves connexion and the fast
    path alike. Parameters (``charset=...``) are left as they are.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            for index, (name, value) in enumerate(headers):
                if name == b"content-type":
                    media_type, separator, parameters = value.partition(b";")
                    lowered = media_type.lower()
                    if lowered != media_type:
                        headers = [*headers]
                        headers[index] = (name, lowered + separator + parameters)
                        scope = {**scope, "headers": headers}
                    break
        await self.app(scope, receive, send)
