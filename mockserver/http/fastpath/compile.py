"""Compile a connexion operation for the fast path, or say why connexion must serve all of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

from connexion.jsonifier import JSONEncoder, Jsonifier
from connexion.operations import AbstractOperation
from connexion.security import AbstractSecurityHandler, BearerSecurityHandler, SecurityHandlerFactory
from connexion.spec import Specification
from connexion.utils import inspect_function_arguments, is_json_mimetype
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATORS
from connexion.validators import JSONRequestBodyValidator
from connexion.validators import ParameterValidator as ConnexionParameterValidator

from mockserver.http.compiled import Check, compile_check
from mockserver.http.fastpath.operation import Bearer, Operation, media_lookup

__all__ = ["NotFast", "compile_operation"]

_BEARER_INTERNALS = (
    "get_fn",
    "_get_verify_func",
    "check_bearer_token",
    "_generic_check",
    "get_auth_header_value",
)


class NotFast(Exception):
    """This operation uses something the fast path does not prove; connexion serves all of it."""


def compile_operation(spec: Specification, path: str, method: str, options: dict[str, Any]) -> Operation:
    """Compile one operation, or raise ``NotFast`` naming what the fast path does not prove."""
    if options.get("pythonic_params"):
        raise NotFast("pythonic_params")
    operation = spec.operation_cls.from_spec(
        spec,
        path=path,
        method=method,
        resolver=options["resolver"],
        uri_parser_class=options.get("uri_parser_class"),
    )
    handler = operation.function
    if not asyncio.iscoroutinefunction(handler):
        raise NotFast("a sync handler (connexion runs it in a thread)")
    arguments, has_kwargs = inspect_function_arguments(handler)
    if has_kwargs:
        raise NotFast("a handler taking **kwargs")
    validators = {**CONNEXION_VALIDATORS, **(options.get("validator_map") or {})}
    if not issubclass(validators["parameter"], ConnexionParameterValidator):
        raise NotFast("a custom parameter validator")
    path_checks = []
    for param in operation.parameters:
        if param.get("in") != "path":
            raise NotFast(f"a {param.get('in')} parameter")
        schema = param.get("schema", {})
        if schema.get("type") != "string" or param.get("nullable") or schema.get("nullable"):
            raise NotFast("a path parameter that is not a plain string")
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
        raise NotFast(f"handler arguments the fast path does not supply: {sorted(unknown)}")
    jsonifier = options.get("jsonifier") or Jsonifier()
    return Operation(
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
        raise NotFast("a body that is not JSON")
    for mime in consumes:
        validator = media_lookup(validators["body"], mime)
        if not (isinstance(validator, type) and issubclass(validator, JSONRequestBodyValidator)):
            raise NotFast(f"no JSON body validator for {mime}")
        if validator.MUTABLE_VALIDATION:  # type: ignore[attr-defined]
            raise NotFast("a body validator that changes the body (defaults)")
    schemas = {json.dumps(operation.body_schema(mime), sort_keys=True, default=str) for mime in consumes}
    if len(schemas) != 1:
        raise NotFast("media types with different schemas")
    return compile_check(operation.body_schema(consumes[0]))


def _bearer(operation: AbstractOperation, security_map: dict[str, Any] | None) -> Bearer | None:
    requirements = operation.security or []
    if not requirements:
        return None
    if len(requirements) != 1 or len(requirements[0]) != 1:
        raise NotFast("alternative or combined security requirements")
    ((name, scopes),) = requirements[0].items()
    scheme = operation.security_schemes[name]
    if scheme.get("type") != "http" or str(scheme.get("scheme", "")).lower() != "bearer":
        raise NotFast(f"a {scheme.get('type')} security scheme")
    handler_cls = SecurityHandlerFactory(security_map).security_handlers.get("bearer")
    if not (isinstance(handler_cls, type) and issubclass(handler_cls, BearerSecurityHandler)):
        raise NotFast("a custom bearer handler")
    # Only where the verifier comes from may differ from connexion's own bearer check.
    for attribute in _BEARER_INTERNALS:
        if getattr(handler_cls, attribute) is not getattr(BearerSecurityHandler, attribute):
            raise NotFast(f"a bearer handler overriding {attribute}")
    verify = handler_cls()._resolve_func(scheme)
    if verify is None:
        raise NotFast("no bearer verifier")
    accepts = set(_arguments(verify))
    if AbstractSecurityHandler.request_kw in accepts:
        raise NotFast("a verifier that wants the request")
    return Bearer(verify, list(scopes) if AbstractSecurityHandler.required_scopes_kw in accepts else None)


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
