"""One operation compiled for the fast path: prove a request valid, call the handler, answer like connexion.

See ``mockserver.http.fastpath`` for what is proved and what is left to connexion.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from connexion.decorators.response import BaseResponseDecorator
from connexion.exceptions import NonConformingResponseHeaders
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.operations import AbstractOperation
from connexion.security import NO_VALUE
from connexion.utils import split_content_type
from connexion.validators import JSONResponseBodyValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.http.compiled import Check, compile_check

__all__ = ["Bearer", "Operation", "media_lookup"]

Headers = list[tuple[bytes, bytes]]
TokenInfoFunc = Callable[..., Any]
_UTF8 = frozenset({None, "utf-8", "utf8", "UTF-8", "UTF8"})
_WANTED = (b"authorization", b"content-type", b"content-length", b"transfer-encoding")


@dataclass(frozen=True, slots=True)
class Bearer:
    """The operation's one ``http bearer`` requirement, with the verifier connexion would call."""

    verify: TokenInfoFunc
    scopes: list[str] | None  # passed as required_scopes when the verifier takes them

    async def token_info(self, authorization: bytes | None) -> Any:
        # The same parsing as connexion's AbstractSecurityHandler.get_auth_header_value.
        if not authorization:
            return None
        parts = authorization.decode("latin-1").split(maxsplit=1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None
        token = parts[1]
        info = self.verify(token) if self.scopes is None else self.verify(token, required_scopes=self.scopes)
        while asyncio.iscoroutine(info):
            info = await info
        return None if info is NO_VALUE else info


@dataclass(slots=True)
class Operation:
    """One operation compiled for the fast path."""

    operation: AbstractOperation
    handler: Callable[..., Awaitable[Any]]
    path_checks: tuple[tuple[str, Check, bool], ...]  # (name, check, handler takes it)
    bearer: Bearer | None
    pass_user: bool
    pass_token_info: bool
    body_check: Check | None  # None: the operation has no request body
    body_name: str | None  # the handler's argument for the body, when it takes one
    consumes: frozenset[str]
    produces: list[str]
    produces_lower: frozenset[str]
    encode: Callable[[Any], str]
    validate_responses: bool
    validator_map: dict[str, Any]
    _responses: dict[tuple[int, str], tuple[frozenset[str], Check | None]] = field(default_factory=dict)

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, params: dict[str, str], fallback: ASGIApp
    ) -> None:
        kwargs: dict[str, Any] = {}
        for name, check, wanted in self.path_checks:
            value = params[name]
            if not check(value):
                return await fallback(scope, receive, send)
            if wanted:
                kwargs[name] = value
        authorization = content_type = length = None
        for name, value in scope["headers"]:
            if name in _WANTED:
                if name == b"authorization":
                    if authorization is not None:
                        return await fallback(scope, receive, send)
                    authorization = value
                elif name == b"content-type":
                    if content_type is not None:
                        return await fallback(scope, receive, send)
                    content_type = value
                elif name == b"content-length":
                    length = value
                else:  # a chunked body: BodyLimitMiddleware normally turned it into Content-Length
                    return await fallback(scope, receive, send)
        if self.bearer is not None:
            info = await self.bearer.token_info(authorization)
            if info is None:
                return await fallback(scope, receive, send)
            if self.pass_user:
                kwargs["user"] = info.get("sub", info.get("uid"))
            if self.pass_token_info:
                kwargs["token_info"] = info
        if self.body_check is not None:
            if content_type is None or not length or length == b"0":
                return await fallback(scope, receive, send)
            mime, encoding = split_content_type(content_type.decode("latin-1"))
            # MediaTypeMiddleware has lower-cased the media type already.
            if mime not in self.consumes or encoding not in _UTF8:
                return await fallback(scope, receive, send)
            messages, raw = await _read(receive)
            replay = _replay(messages, receive)
            if raw is None:
                return await fallback(scope, replay, send)
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError):  # bad bytes, bad or too deep JSON: connexion words the 400
                return await fallback(scope, replay, send)
            if not self.body_check(body):
                return await fallback(scope, replay, send)
            if self.body_name is not None:
                kwargs[self.body_name] = body
        result = await self.handler(**kwargs)
        await self._respond(result, scope, receive, send)

    async def _respond(self, result: Any, scope: Scope, receive: Receive, send: Send) -> None:
        if StarletteFramework.is_framework_response(result) or isinstance(result, ConnexionResponse):
            response = (
                result
                if StarletteFramework.is_framework_response(result)
                else StarletteFramework.connexion_to_framework_response(result)
            )
            await self._checked(response, scope, receive, send)
            return
        # connexion's BaseResponseDecorator.build_framework_response, without a request context.
        data, status, headers = BaseResponseDecorator._unpack_handler_response(result)
        content_type = self._content_type(data, headers)
        text = None if data is None else self.encode(data)
        status = status or (204 if text is None else 200)
        headers = BaseResponseDecorator._update_headers(headers, content_type=content_type)
        raw_headers: Headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        body = b"" if text is None else text.encode("utf-8")
        sized = text is not None and status >= 200 and status not in (204, 304)
        if sized and all(name != b"content-length" for name, _ in raw_headers):
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        if content_type is not None and all(name != b"content-type" for name, _ in raw_headers):
            raw_headers.append((b"content-type", _with_charset(content_type).encode("latin-1")))
        start: Message = {"type": "http.response.start", "status": status, "headers": raw_headers}
        end: Message = {"type": "http.response.body", "body": body}
        if self.validate_responses and not self._conforms(status, content_type, raw_headers, data):
            await self._checked(_Emit(start, end), scope, receive, send)
            return
        await send(start)
        await send(end)

    def _content_type(self, data: Any, headers: dict[str, str]) -> str | None:
        # connexion's BaseResponseDecorator._infer_content_type, with this operation's produces.
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        produces = list(dict.fromkeys(self.produces)) or (["application/json"] if data is not None else [])
        if content_type:
            if content_type not in produces:
                raise NonConformingResponseHeaders(
                    f"Returned content type ({content_type}) is not defined in operation spec "
                    f"({self.produces})."
                )
            return content_type
        if len(produces) == 1:
            return produces[0]
        if not produces:
            return None
        raise NonConformingResponseHeaders(
            "Multiple response content types are defined in the operation spec, but "
            "the handler response did not specify which one to return."
        )

    def _conforms(self, status: int, content_type: str | None, headers: Headers, data: Any) -> bool:
        """Whether the compiled checks prove the response valid (else connexion's validator decides)."""
        mime, encoding = split_content_type(content_type)
        if mime is None or data is None or encoding not in _UTF8:
            return False
        mime = mime.lower()
        if status < 400 and mime not in self.produces_lower:
            return False
        key = (status, mime)
        compiled = self._responses.get(key)
        if compiled is None:
            compiled = self._responses[key] = self._compile_response(status, mime)
        required, check = compiled
        if required and not required <= {name.decode("latin-1") for name, _ in headers}:
            return False
        return check is not None and check(data)

    def _compile_response(self, status: int, mime: str) -> tuple[frozenset[str], Check | None]:
        definition = self.operation.response_definition(str(status), mime)
        required = frozenset(k.lower() for k, v in definition.get("headers", {}).items() if v.get("required"))
        validator = media_lookup(self.validator_map.get("response", {}), mime)
        if validator is not JSONResponseBodyValidator:
            return required, None
        return required, compile_check(self.operation.response_schema(str(status), mime), response=True)

    async def _checked(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.validate_responses:
            await app(scope, receive, send)
            return
        checked = ResponseValidationOperation(app, operation=self.operation, validator_map=self.validator_map)
        await checked(scope, receive, send)


class _Emit:
    """An ASGI app sending a response already built, so connexion's response validator can check it."""

    def __init__(self, *messages: Message) -> None:
        self.messages = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for message in self.messages:
            await send(message)


def _with_charset(content_type: str) -> str:
    # starlette's Response.init_headers adds a charset to text/* media types.
    if content_type.startswith("text/") and "charset=" not in content_type.lower():
        return f"{content_type}; charset=utf-8"
    return content_type


async def _read(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message of the request body, and the body (None when the client went away)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = iter(messages)

    async def replay() -> Message:
        for message in pending:
            return message
        return await receive()

    return replay


def media_lookup(by_media: Any, mime: str) -> Any:
    try:
        return by_media[mime]
    except KeyError:
        return None
