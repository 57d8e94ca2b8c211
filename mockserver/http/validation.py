"""Request validation: connexion's, minus three flaws (a 500 on bad bytes or on a body with no
``Content-Type``, values echoed in details).

Problems name the field and the rule it broke, never the value sent: a too-long password
must not come back in a 400 body or in a log line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, UnsupportedMediaTypeProblem
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from connexion.utils import extract_content_type, is_null, is_nullable
from connexion.validators import JSONRequestBodyValidator
from connexion.validators import ParameterValidator as _ConnexionParameterValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from starlette.types import Scope

__all__ = [
    "VALIDATOR_MAP",
    "JSONBodyValidator",
    "ParameterValidator",
    "RequestValidation",
    "describe",
    "field_path",
]

# How each JSON Schema keyword reads in a problem detail; {0} is the keyword's value.
_RULES: dict[str, str] = {
    "type": "must be of type {0}",
    "minLength": "length must be at least {0}",
    "maxLength": "length must be at most {0}",
    "pattern": "must match the pattern {0}",
    "minimum": "must be at least {0}",
    "maximum": "must be at most {0}",
    "enum": "must be one of {0}",
    "format": "must be a valid {0}",
    "minItems": "must have at least {0} items",
    "maxItems": "must have at most {0} items",
}


def field_path(path: Iterable[Any]) -> str:
    """``["trunks", 0, "host"]`` → ``trunks[0].host``."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".")


def describe(error: ValidationError, root: str | None = None) -> str:
    """A problem detail naming the field and the broken rule, without the offending value.

    ``root`` names the whole document when the error is at its top (``body`` if not given).
    """
    where = field_path(error.absolute_path) or root
    if error.validator in ("required", "additionalProperties"):
        # These messages name properties (keys), not values.
        return f"{where}: {error.message}" if where else error.message
    rule = _RULES.get(str(error.validator), f"breaks the rule {error.validator}={{0}}")
    return f"{where or 'body'}: {rule.format(error.validator_value)}"


class JSONBodyValidator(JSONRequestBodyValidator):
    """Parses a JSON body (bad charsets and bytes are 400) and validates it with value-free details."""

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        try:
            text = raw.decode(self._encoding)
        except (LookupError, UnicodeError):
            raise BadRequestProblem(detail=f"The request body is not valid {self._encoding} text") from None
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequestProblem(detail=f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadRequestProblem(detail="The request body is not valid JSON: nested too deeply") from None
        except ValueError:  # Python's int() refuses numbers of more than 4300 digits
            raise BadRequestProblem(detail="The request body holds a number with too many digits") from None

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="The request body must not be empty")
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error)) from None
        return None


class ParameterValidator(_ConnexionParameterValidator):
    """connexion's parameter validation with one-line, value-free details."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        name = f"{parameter_type} parameter '{param.get('name', param_name)}'"
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            validator = Draft4Validator(
                param.get("schema", param), format_checker=Draft4Validator.FORMAT_CHECKER
            )
            error = best_match(validator.iter_errors(value))
            return None if error is None else describe(error, root=name)
        return f"Missing {name}" if param.get("required") else None


def _has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    # BodyLimitMiddleware has turned a chunked body into one with a Content-Length.
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0 ")):
            return True
    return False


class _Operation(RequestValidationOperation):
    """connexion's request validation, refusing a body sent without a ``Content-Type`` (415).

    connexion validates such a body as if it were the operation's first media type, and then
    hands the handler raw bytes where it expects the parsed JSON: a 500. The spec's answer to a
    body that is not ``application/json`` is 415; a body of no declared type is one.
    """

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        if self._operation.request_body and extract_content_type(headers) is None and _has_body(headers):
            expected = self._operation.consumes
            raise UnsupportedMediaTypeProblem(
                detail=f"The request has a body but no Content-Type header; expected {expected}"
            )
        mime_type, encoding = super().extract_content_type(headers)
        return mime_type, encoding


class _API(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return _Operation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class RequestValidation(RequestValidationMiddleware):
    """connexion's request validation middleware, with a body of no ``Content-Type`` refused as 415."""

    api_cls = _API


# Merged into connexion's map by key, so "body" must list every media type the specs use.
VALIDATOR_MAP: dict[str, Any] = {
    "parameter": ParameterValidator,
    "body": MediaTypeDict({"*/*json": JSONBodyValidator}),
}
