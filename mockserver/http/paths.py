"""Where the mock serves what: the paths more than one layer routes on, named once."""

from __future__ import annotations

__all__ = ["ADMIN_BASE_PATH", "SPEC_DOCUMENT_PATH", "UI_PATH"]

ADMIN_BASE_PATH = "/__admin"
"""The admin API (not part of the product spec)."""
SPEC_DOCUMENT_PATH = "/openapi.json"
"""The spec as JSON, under each API's base path."""
UI_PATH = "/ui"
"""Swagger UI, under each API's base path."""
