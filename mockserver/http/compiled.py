"""JSON Schema checks compiled once, in Rust (jsonschema-rs), from the spec's OpenAPI 3.0 schemas.

connexion validates with Python ``jsonschema`` (draft 4) extended for OpenAPI: ``nullable``
lets ``type`` and ``enum`` accept null, and in responses any schema holding ``writeOnly``
fails. ``to_json_schema`` rewrites a schema into plain draft 4 with the same meaning, so a
compiled check accepts what connexion accepts. A compiled check is only ever trusted to say
*yes*: on *no*, callers hand the request (or the response) to connexion's own validators,
which give the verdict and the exact problem detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema_rs

__all__ = ["Check", "compile_check", "to_json_schema"]

Check = Callable[[Any], bool]
"""A compiled schema: True when the value is valid (never raises)."""

# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
_ONE = ("items", "additionalProperties", "not", "additionalItems")
_MANY = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties", "definitions")
_NEVER: dict[str, Any] = {"not": {}}  # draft 4 has no `false` schema


def to_json_schema(schema: Any, *, response: bool) -> Any:
    """``schema`` in plain draft 4: ``nullable`` folded into type/enum; in responses ``writeOnly`` fails.

    >>> to_json_schema({"type": "string", "nullable": True}, response=False)
    {'type': ['string', 'null'], 'nullable': True}
    """
    if not isinstance(schema, Mapping):
        return schema  # a boolean additionalProperties, say
    if response and ("writeOnly" in schema or "x-writeOnly" in schema):
        return dict(_NEVER)  # connexion's validate_writeOnly fails whatever the value
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "components":
            continue  # connexion hangs the (already inlined) components here; not a keyword
        if key in _ONE:
            out[key] = (
                [to_json_schema(v, response=response) for v in value]
                if isinstance(value, list)
                else to_json_schema(value, response=response)
            )
        elif key in _MANY:
            out[key] = [to_json_schema(v, response=response) for v in value]
        elif key in _MAP and isinstance(value, Mapping):
            out[key] = {name: to_json_schema(v, response=response) for name, v in value.items()}
        else:
            out[key] = value
    if schema.get("nullable") is True or schema.get("x-nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def compile_check(schema: Mapping[str, Any], *, response: bool = False, openapi: bool = True) -> Check:
    """A compiled check of ``schema`` (an OpenAPI schema when ``openapi``, else plain draft 4).

    Formats are checked: the Rust checker knows at least the formats connexion's draft 4
    checker does (date-time, email, ipv4, ipv6, regex), so it is never the more lenient one.
    """
    plain = to_json_schema(schema, response=response) if openapi else dict(schema)
    validator = jsonschema_rs.Draft4Validator(plain, validate_formats=True)
    is_valid = validator.is_valid

    def check(value: Any) -> bool:
        try:
            return bool(is_valid(value))
        except Exception:  # a value jsonschema-rs cannot read (NaN, a custom object): not proven valid
            return False

    return check
