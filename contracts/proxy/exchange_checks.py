"""Each exchange alone against the spec: the client's request, then the server's answer.

The answer is judged by the suite's own checks (schemathesis's built-in ones and
``contracts.suites.checks``) on the exchange rebuilt as a schemathesis case and response, so
the proxy and ``sip-trunks check`` give one verdict per rule. The request is judged against
the same compiled operation: the body's schema, its media type, the credentials' shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import requests
import schemathesis
from schemathesis import CheckContext, Response
from schemathesis.checks import CheckFunction
from schemathesis.config import ChecksConfig
from schemathesis.core import media_types
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.proxy.exchange import NOT_JSON, Exchange, Request
from contracts.suites.checks import location_header, problem_details
from sip_trunks_openapi import SPEC_PATH

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation

__all__ = ["MAX_BODY", "Finding", "Spec"]

# The spec's body limit (413 above it).
MAX_BODY = 65536
# Statuses that refuse a request as malformed: a server answering them to a valid request refuses valid input.
_REFUSALS = (400, 413, 415)
_MAX_DETAIL = 300
# Checks whose verdict depends only on the operation, the status and the Content-Type.
_BY_STATUS_AND_TYPE = frozenset({"status_code_conformance", "content_type_conformance"})
# Verdicts remembered at most (a hostile upstream may vary its Content-Type without end).
_MAX_MEMO = 1000

# The suite's checks of an answer, by the name they have in its output.
_ANSWER_CHECKS: tuple[tuple[str, CheckFunction], ...] = (
    ("status_code_conformance", status_code_conformance),
    ("content_type_conformance", content_type_conformance),
    ("response_headers_conformance", response_headers_conformance),
    ("response_schema_conformance", response_schema_conformance),
    ("problem_details", problem_details),
    ("location_header", location_header),
)


@dataclass(frozen=True)
class Finding:
    """A rule broken by one exchange; the proxy turns it into a ``Violation``.

    ``answer`` is what ``--enforce`` answers instead of forwarding a request that broke it.
    """

    check: str
    detail: str
    answer: int | None = None


class Spec:
    """The compiled spec: finds a request's operation and checks requests and answers against it."""

    def __init__(self) -> None:
        self.schema = schemathesis.openapi.from_path(SPEC_PATH, config=schemathesis.Config())
        self._context = CheckContext(
            override=None,
            auth=None,
            headers=None,
            config=ChecksConfig(),
            transport_kwargs=None,
            response_checks=None,
        )
        templates = list(self.schema.raw_schema.get("paths", {}))
        self._paths = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"), t) for t in templates
        ]
        self._cases: dict[tuple[str, str], Any] = {}
        self._operations: dict[tuple[str, str], APIOperation | None] = {}
        self._memo: dict[tuple[Any, ...], list[str]] = {}
        self._headers: dict[tuple[str, str, int], tuple[str, ...]] = {}
        self._validators: dict[tuple[str, str, int, str], Any] = {}
        # The request a rebuilt response points to: only failure messages read it.
        self._requests: dict[str, requests.PreparedRequest] = {}

    def template(self, path: str) -> str | None:
        """The spec's path template matching ``path`` (``/sip-trunks/{id}``), or None."""
        return next((template for pattern, template in self._paths if pattern.match(path)), None)

    def operation(self, method: str, path: str) -> APIOperation | None:
        """The operation a request is for, found by its path template (looked up once per template)."""
        template = self.template(path)
        if template is None:
            return None
        key = (method.upper(), template)
        if key not in self._operations:
            self._operations[key] = self.schema.find_operation_by_path(*key)
        return self._operations[key]

    # -- the client's request -------------------------------------------------------------------

    def check_request(self, request: Request, operation: APIOperation | None) -> list[Finding]:
        """What the request breaks: no operation, credentials' shape, query, media type, body."""
        if operation is None:
            known_path = self.template(request.path) is not None
            what = f"no {request.method} on {request.path}" if known_path else f"no path {request.path}"
            return [
                Finding(
                    "known_operation",
                    f"expected an operation of the spec, got {what}",
                    405 if known_path else 404,
                )
            ]
        found: list[Finding] = []
        if request.bearer is None:
            shape = "no Authorization header" if request.header("authorization") is None else "another shape"
            found.append(
                Finding("bearer_credentials", f"expected Authorization: Bearer <api key>, got {shape}", 401)
            )
        if request.query:
            names = sorted({part.split("=", 1)[0] for part in request.query.split("&") if part})
            found.append(
                Finding("request_parameters", f"expected no query parameter, got {', '.join(names)}", 400)
            )
        if operation.body:
            found.extend(_check_body(request, operation))
        return found

    # -- the server's answer --------------------------------------------------------------------

    def check_answer(
        self, exchange: Exchange, operation: APIOperation, refused: list[Finding]
    ) -> list[Finding]:
        """What the answer breaks, given what the request broke (``refused``)."""
        status = exchange.status
        found: list[Finding] = []
        if status >= 500 and status != 503:
            found.append(Finding("not_a_server_error", f"expected no 5xx (503 at most), got {status}"))
        if 200 <= status < 300:
            if exchange.request.bearer is None:
                found.append(
                    Finding("auth_required", f"expected 401 without valid credentials, got {status}")
                )
            invalid = [f for f in refused if f.check not in ("bearer_credentials",)]
            if invalid:
                found.append(
                    Finding(
                        "negative_data_rejection",
                        f"expected a 4xx for a request that breaks the contract "
                        f"({invalid[0].check}: {invalid[0].detail}), got {status}",
                    )
                )
        elif status in _REFUSALS and not refused:
            found.append(
                Finding("positive_data_acceptance", f"expected a valid request to be accepted, got {status}")
            )
        case = self._case(operation)
        response = _response(exchange, self._request(exchange.request.method, operation.path))
        for name, check in _ANSWER_CHECKS:
            if name == "response_schema_conformance" and self._valid_body(exchange, operation, response):
                continue  # what the check would conclude, found by its own validator alone
            key = self._verdict_key(name, exchange, operation)
            memo = self._memo.get(key) if key is not None else None
            if memo is None:
                memo = list(_failures(check, self._context, response, case))
                if key is not None and len(self._memo) < _MAX_MEMO:
                    self._memo[key] = memo
            found.extend(Finding(name, message) for message in memo)
        return found

    def _verdict_key(self, name: str, exchange: Exchange, operation: APIOperation) -> tuple[Any, ...] | None:
        """All that a check's verdict depends on, when it is less than the whole answer; else None.

        The status and Content-Type checks read nothing else; the headers check reads only the
        headers documented for the status: when the answer has none of them, it reads nothing else.
        """
        where = (name, exchange.request.method, operation.path, exchange.status)
        if name in _BY_STATUS_AND_TYPE:
            return (*where, exchange.header("content-type"))
        if name == "response_headers_conformance":
            documented = self._documented_headers(operation, exchange.status)
            # Values (a Location, a rate-limit count) vary from answer to answer: not worth keeping.
            return where if all(exchange.header(header) is None for header in documented) else None
        return None

    def _documented_headers(self, operation: APIOperation, status: int) -> tuple[str, ...]:
        key = (operation.method, operation.path, status)
        if key not in self._headers:
            definition = operation.responses.find_by_status_code(status)
            documented = definition.headers.items() if definition is not None and definition.headers else ()
            self._headers[key] = tuple(name.lower() for name, _ in documented)
        return self._headers[key]

    def _valid_body(self, exchange: Exchange, operation: APIOperation, response: Response) -> bool:
        """True when the body is valid JSON for the schema documented for its status and media type.

        Then ``response_schema_conformance`` finds nothing: it would validate the same parsed
        body with the same compiled validator, taken from the same place. Anything else
        (no Content-Type, a stream, a discriminator, an invalid body) goes to the check itself.
        """
        content_type = exchange.header("content-type")
        if content_type is None or not _is_json(content_type) or exchange.json is NOT_JSON:
            return False
        key = (operation.method, operation.path, exchange.status, content_type)
        if key not in self._validators:
            self._validators[key] = self._validator(operation, exchange.status, content_type)
        validator = self._validators[key]
        try:
            return validator is not None and bool(validator.is_valid(response.json()))
        except ValueError:  # a lone surrogate: the check says how the JSON is malformed
            return False

    def _validator(self, operation: APIOperation, status: int, content_type: str) -> Any:
        definition = operation.responses.find_by_status_code(status)
        if definition is None or len(self._validators) >= _MAX_MEMO:
            return None
        resolved = definition.get_schema(content_type)
        if resolved.schema is None or resolved.has_discriminator or not _is_json(resolved.media_type):
            return None
        if definition.get_sse_validator(resolved.media_type, resolved.schema) is not None:
            return None
        if definition.get_stream_schema(resolved.media_type).schema is not None:
            return None
        config = self.schema.config.checks_config_for(operation=operation).response_schema_conformance
        return definition.get_validator(
            resolved.media_type, resolved.schema, validate_formats=config.validate_formats
        )

    def _request(self, method: str, template: str) -> requests.PreparedRequest:
        key = f"{method} {template}"
        if key not in self._requests:
            self._requests[key] = requests.Request(method, f"http://proxy{template}").prepare()
        return self._requests[key]

    def _case(self, operation: APIOperation) -> Any:
        key = (operation.method, operation.path)
        if key not in self._cases:
            self._cases[key] = operation.Case()
        return self._cases[key]


def _check_body(request: Request, operation: APIOperation) -> Iterator[Finding]:
    body = operation.body[0]
    if len(request.body) > MAX_BODY:
        yield Finding(
            "request_body_schema",
            f"expected a body of at most {MAX_BODY} bytes, got {len(request.body)}",
            413,
        )
        return
    if request.media_type is None and not request.body:
        yield Finding("request_body_schema", "expected a JSON body, got none", 400)
        return
    if request.media_type != "application/json":
        got = request.media_type or "no Content-Type"
        yield Finding("json_media_type", f"expected Content-Type: application/json, got {got}", 415)
        return
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        yield Finding("request_body_schema", "expected UTF-8 JSON, got bytes that are not UTF-8", 400)
        return
    value = request.json
    if value is NOT_JSON:
        yield Finding("request_body_schema", "expected a JSON body, got text that is not JSON", 400)
        return
    try:
        body.validate(value)
    except Exception as error:  # jsonschema_rs.ValidationError
        yield Finding(
            "request_body_schema", f"expected a body matching the schema, got {_describe(error)}", 400
        )


def _describe(error: Any) -> str:
    """The field and the rule it broke, never the value (a password must not be quoted)."""
    where = ".".join(str(part) for part in getattr(error, "instance_path", [])) or "body"
    rule = str((getattr(error, "schema_path", None) or ["?"])[-1])
    if rule in ("required", "additionalProperties"):
        return f"{where}: {error.message}"  # these name properties, not values
    return f"{where} breaking the rule {rule}"


def _response(exchange: Exchange, request: requests.PreparedRequest) -> Response:
    headers: dict[str, list[str]] = {}
    for name, value in exchange.headers:
        headers.setdefault(name.lower(), []).append(value)
    response = Response(
        status_code=exchange.status,
        headers=headers,
        content=exchange.text_body,
        request=request,
        elapsed=0.0,
        verify=True,
    )
    if exchange.json is not NOT_JSON and _is_json(exchange.media_type):
        # Parsed once: schemathesis reads this cache as its own parse of a JSON body (json.loads of
        # the UTF-8 text, the same call as ``Exchange.json``).
        response._deserialized = exchange.json
    return response


@lru_cache(maxsize=64)
def _is_json(media_type: str | None) -> bool:
    """Whether schemathesis reads a body of this media type as JSON (a malformed one: no)."""
    try:
        return media_type is not None and media_types.is_json(media_type)
    except ValueError:  # MalformedMediaType
        return False


def _failures(check: CheckFunction, ctx: CheckContext, response: Response, case: Any) -> Iterator[str]:
    try:
        check(ctx, response, case)
    except BaseExceptionGroup as group:
        for failure in group.exceptions:
            yield _message(failure)
    except AssertionError as failure:
        yield _message(failure)


def _message(failure: BaseException) -> str:
    title = getattr(failure, "title", None)
    message = str(getattr(failure, "message", None) or failure).strip().split("\n\n")[0]
    text = f"{title}: {message}" if title and not message.startswith("expected") else message
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
