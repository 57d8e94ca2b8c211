"""Helpers of the suite's tests: tokens, results by check, and hand-built schemathesis objects."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.config import ChecksConfig

from contracts.engine.events import RunFinished
from sip_trunks_openapi import SPEC_PATH

TOKEN_A = "tok-org-a-1f3a"
TOKEN_B = "tok-org-b-77c2"
_SCHEMA = schemathesis.openapi.from_path(SPEC_PATH, config=schemathesis.Config())


def statuses(finished: RunFinished) -> dict[str, str]:
    """Each check's status: passed, failed or skipped."""
    return {result.name: result.status for result in finished.results}


def failed_checks(finished: RunFinished) -> set[str]:
    return {failure.check for failure in finished.failures}


def case(method: str, path: str, **data: Any) -> Case:
    """A schemathesis case of an operation of the spec, e.g. ``case("POST", "/sip-trunks", body=...)``."""
    return _SCHEMA[path][method].Case(**data)


def response(
    status: int, body: bytes | str = b"", headers: dict[str, str] | None = None, *, method: str = "GET"
) -> Response:
    """A hand-built response, as schemathesis hands it to a check."""
    content = body.encode() if isinstance(body, str) else body
    request = requests.Request(method, "http://127.0.0.1/sip-trunks").prepare()
    return Response(
        status_code=status,
        headers={name: [value] for name, value in (headers or {}).items()},
        content=content,
        request=request,
        elapsed=0.01,
        verify=True,
    )


def check_context() -> CheckContext:
    return CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=ChecksConfig(),
        transport_kwargs=None,
        response_checks=None,
    )
