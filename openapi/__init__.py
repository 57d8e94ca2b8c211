"""Where the contract lives: the OpenAPI document that drives the mock and the suite.

This folder is installed as the package ``sip_trunks_openapi`` so that the spec is
found from a wheel as well as from a checkout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SPEC_PATH", "load_spec"]

SPEC_PATH: Path = Path(__file__).resolve().with_name("sip-trunks.yaml")


def load_spec() -> dict[str, Any]:
    """Parse the spec into a plain dict (``$ref`` left as they are)."""
    import yaml

    with SPEC_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document
