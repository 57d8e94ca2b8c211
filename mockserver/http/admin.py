"""The admin API's spec (``admin.yaml`` completed with the product spec's schemas) and its state schema."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from mockserver.http.paths import ADMIN_BASE_PATH
from sip_trunks_openapi import load_spec, load_yaml

__all__ = ["ADMIN_BASE_PATH", "ADMIN_SPEC_PATH", "admin_spec", "state_schema"]

ADMIN_SPEC_PATH = Path(__file__).resolve().with_name("admin.yaml")


@functools.cache
def _admin_spec() -> dict[str, Any]:
    spec: dict[str, Any] = load_yaml(ADMIN_SPEC_PATH)
    product_schemas = load_spec()["components"]["schemas"]
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in product_schemas.items():
        schemas.setdefault(name, schema)
    return spec


def admin_spec() -> dict[str, Any]:
    """The admin OpenAPI document, with the product's schemas merged into its components."""
    return copy.deepcopy(_admin_spec())


def state_schema() -> dict[str, Any]:
    """The JSON schema of a state document (``GET``/``PUT /__admin/state``, seed files), refs inlined."""
    from connexion.json_schema import resolve_refs

    resolved: dict[str, Any] = resolve_refs(_admin_spec())
    schema: dict[str, Any] = resolved["components"]["schemas"]["State"]
    return schema
