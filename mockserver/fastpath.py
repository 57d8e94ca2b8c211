"""A fast path compiled from the spec: it serves requests it proves valid and hands all others to connexion.

It is a connexion ``SpecMiddleware``, so connexion registers every API on it at start-up
with the same options (resolver, security map, validator map, ``validate_responses``) it
gives its own middlewares. From each operation it compiles, once: the route, the bearer
check, the path parameters' and the body's JSON Schemas (``mockserver.compiled``), the
handler's arguments, and how its answer is encoded.

Per request it only *proves validity*: known path and method, no query string, a bearer
token the verifier accepts, valid path parameters, and for a body ``application/json``
UTF-8 JSON that the compiled schema accepts. Anything it cannot prove (a missing token, a
bad body, an unknown route, a query string, a 405...) goes to connexion untouched (a body
already read is replayed), so every error keeps connexion's status, problem detail and
headers. A handler's domain errors and the response checks (``validate_responses``) raise
the same exceptions connexion would, into the same exception middleware.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connexion.decorators.response import BaseResponseDecorator
from connexion.exceptions import NonConformingResponseHeaders
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.jsonifier import JSONEncoder, Jsonifier
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.abstract import SpecMiddleware
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.operations import AbstractOperation
from connexion.security import (
    NO_VALUE,
    AbstractSecurityHandler,
    BearerSecurityHandler,
    SecurityHandlerFactory,
)
from connexion.spec import Specification
from connexion.utils import inspect_function_arguments, is_json_mimetype, split_content_type
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATORS
from connexion.validators import JSONRequestBodyValidator, JSONResponseBodyValidator
from connexion.validators import ParameterValidator as ConnexionParameterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.compiled import Check, compile_check

__all__ = ["FastPathMiddleware"]

logger = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]
TokenInfoFunc = Callable[..., Any]
_UTF8 = frozenset({None, "utf-8", "utf8", "UTF-8", "UTF8"})
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_BEARER_INTERNALS = (
    "get_fn",
    "_get_verify_func",
    "check_bearer_token",
    "_generic_check",
    "get_auth_header_value",
)
_WANTED = (b"authorization", b"content-type", b"content-length", b"transfer-encoding")


class _NotFast(Exception):
    """This operation uses something the fast path does not prove; connexion serves all of it."""


@dataclass(frozen=True, slots=True)
class _Bearer:
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
class _Operation:
    """One operation compiled for the fast path."""

    operation: AbstractOperation
    handler: Callable[..., Awaitable[Any]]
    path_checks: tuple[tuple[str, Check, bool], ...]  # (name, check, handler takes it)
    bearer: _Bearer | None
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
        validator = _media_lookup(self.validator_map.get("response", {}), mime)
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


def _media_lookup(by_media: Any, mime: str) -> Any:
    try:
        return by_media[mime]
    except KeyError:
        return None


@dataclass(frozen=True, slots=True)
class _Table:
    """The fast routes of one API: exact paths, then templated ones in spec order."""

    prefix: str
    exact: dict[str, dict[str, _Operation]]
    templated: list[tuple[re.Pattern[str], dict[str, _Operation]]]


class FastPathMiddleware(SpecMiddleware):
    """Serves the operations it could compile, for requests it proves valid; calls ``app`` for the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._tables: list[_Table] = []

    def add_api(self, specification: Specification, **kwargs: Any) -> None:
        base_path = kwargs.get("base_path")
        base = (specification.base_path if base_path is None else base_path).rstrip("/")
        exact: dict[str, dict[str, _Operation]] = {}
        templated: list[tuple[re.Pattern[str], dict[str, _Operation]]] = []
        for path, item in specification.get("paths", {}).items():
            methods: dict[str, _Operation] = {}
            for method in _METHODS:
                if method not in item:
                    continue
                try:
                    methods[method.upper()] = _compile(specification, path, method, kwargs)
                except _NotFast as reason:
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


def _compile(spec: Specification, path: str, method: str, options: dict[str, Any]) -> _Operation:
    """Compile one operation, or raise ``_NotFast`` naming what the fast path does not prove."""
    if options.get("pythonic_params"):
        raise _NotFast("pythonic_params")
    operation = spec.operation_cls.from_spec(
        spec,
        path=path,
        method=method,
        resolver=options["resolver"],
        uri_parser_class=options.get("uri_parser_class"),
    )
    handler = operation.function
    if not asyncio.iscoroutinefunction(handler):
        raise _NotFast("a sync handler (connexion runs it in a thread)")
    arguments, has_kwargs = inspect_function_arguments(handler)
    if has_kwargs:
        raise _NotFast("a handler taking **kwargs")
    validators = {**CONNEXION_VALIDATORS, **(options.get("validator_map") or {})}
    if not issubclass(validators["parameter"], ConnexionParameterValidator):
        raise _NotFast("a custom parameter validator")
    path_checks = []
    for param in operation.parameters:
        if param.get("in") != "path":
            raise _NotFast(f"a {param.get('in')} parameter")
        schema = param.get("schema", {})
        if schema.get("type") != "string" or param.get("nullable") or schema.get("nullable"):
            raise _NotFast("a path parameter that is not a plain string")
        path_checks.append((param["name"], compile_check(schema, openapi=False), param["name"] in arguments))
    bearer = _bearer(operation, options.get("security_map"))
    context = {"user", "token_info"} if bearer is not None else set()
    body_check = body_name = None
    consumes = frozenset(operation.consumes)
    if operation.request_body:
        body_check = _body_check(operation, validators)
        name = operation.body_name("application/json")
        body_name = name if name in arguments else None
        context.add(name)
    unknown = set(arguments) - context - {p[0] for p in path_checks}
    if unknown:
        raise _NotFast(f"handler arguments the fast path does not supply: {sorted(unknown)}")
    jsonifier = options.get("jsonifier") or Jsonifier()
    return _Operation(
        operation=operation,
        handler=handler,
        path_checks=tuple(path_checks),
        bearer=bearer,
        pass_user="user" in arguments,
        pass_token_info="token_info" in arguments,
        body_check=body_check,
        body_name=body_name,
        consumes=consumes,
        produces=list(operation.produces),
        produces_lower=frozenset(p.lower() for p in operation.produces),
        encode=_encoder(jsonifier),
        validate_responses=bool(options.get("validate_responses")),
        validator_map=validators,
    )


def _body_check(operation: AbstractOperation, validators: dict[str, Any]) -> Check:
    consumes = list(operation.consumes)
    if not consumes or not all(is_json_mimetype(c) for c in consumes):
        raise _NotFast("a body that is not JSON")
    for mime in consumes:
        validator = _media_lookup(validators["body"], mime)
        if not (isinstance(validator, type) and issubclass(validator, JSONRequestBodyValidator)):
            raise _NotFast(f"no JSON body validator for {mime}")
        if validator.MUTABLE_VALIDATION:  # type: ignore[attr-defined]
            raise _NotFast("a body validator that changes the body (defaults)")
    schemas = {json.dumps(operation.body_schema(mime), sort_keys=True, default=str) for mime in consumes}
    if len(schemas) != 1:
        raise _NotFast("media types with different schemas")
    return compile_check(operation.body_schema(consumes[0]))


def _bearer(operation: AbstractOperation, security_map: dict[str, Any] | None) -> _Bearer | None:
    requirements = operation.security or []
    if not requirements:
        return None
    if len(requirements) != 1 or len(requirements[0]) != 1:
        raise _NotFast("alternative or combined security requirements")
    ((name, scopes),) = requirements[0].items()
    scheme = operation.security_schemes[name]
    if scheme.get("type") != "http" or str(scheme.get("scheme", "")).lower() != "bearer":
        raise _NotFast(f"a {scheme.get('type')} security scheme")
    handler_cls = SecurityHandlerFactory(security_map).security_handlers.get("bearer")
    if not (isinstance(handler_cls, type) and issubclass(handler_cls, BearerSecurityHandler)):
        raise _NotFast("a custom bearer handler")
    # Only where the verifier comes from may differ from connexion's own bearer check.
    for attribute in _BEARER_INTERNALS:
        if getattr(handler_cls, attribute) is not getattr(BearerSecurityHandler, attribute):
            raise _NotFast(f"a bearer handler overriding {attribute}")
    verify = handler_cls()._resolve_func(scheme)
    if verify is None:
        raise _NotFast("no bearer verifier")
    accepts = set(_arguments(verify))
    if AbstractSecurityHandler.request_kw in accepts:
        raise _NotFast("a verifier that wants the request")
    return _Bearer(verify, list(scopes) if AbstractSecurityHandler.required_scopes_kw in accepts else None)


def _arguments(function: Callable[..., Any]) -> Iterator[str]:
    arguments, has_kwargs = inspect_function_arguments(function)
    yield from arguments
    if has_kwargs:
        yield from (AbstractSecurityHandler.request_kw, AbstractSecurityHandler.required_scopes_kw)


def _encoder(jsonifier: Jsonifier) -> Callable[[Any], str]:
    """connexion's ``Jsonifier.dumps``; its default, without building an encoder per response."""
    if jsonifier.json is json and jsonifier.dumps_args == {"cls": JSONEncoder}:
        encode = JSONEncoder().encode
        return lambda data: encode(data) + "\n"
    return jsonifier.dumps


def operations(middleware: FastPathMiddleware) -> Iterable[str]:
    """``METHOD path`` of every operation the fast path serves (for tests and the start-up log)."""
    for table in middleware._tables:
        for path, methods in table.exact.items():
            yield from (f"{method} {path}" for method in methods)
        for pattern, methods in table.templated:
            yield from (f"{method} {pattern.pattern}" for method in methods)
