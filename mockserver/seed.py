"""Seed files (YAML or JSON): read, checked against the admin API's ``State`` schema, refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mockserver.domain.errors import InvalidState
from mockserver.domain.store import Store
from mockserver.http.admin import state_schema
from mockserver.http.validation import describe

__all__ = ["SeedError", "apply_seed", "load_seed", "validate_state"]


class SeedError(ValueError):
    """A seed file cannot be used; the message names the file, where in it, and why."""


def validate_state(document: Any) -> list[str]:
    """Every problem of a state document as ``path: rule`` (empty when it is valid)."""
    from connexion.json_schema import Draft4RequestValidator
    from jsonschema import Draft4Validator

    validator = Draft4RequestValidator(state_schema(), format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [describe(error, root="(top level)") for error in errors]


def load_seed(path: Path | str) -> dict[str, Any]:
    """Read and validate a seed file; raise ``SeedError`` with a one-line reason otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise SeedError(f"{path}: cannot read the seed file: {exc}") from None
    is_json = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise SeedError(f"{path}: not valid {'JSON' if is_json else 'YAML'}: {reason}") from None
    problems = validate_state(document)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SeedError(f"{path}: {problems[0]}{more}")
    if not isinstance(document, dict):  # pragma: no cover - the schema requires an object
        raise SeedError(f"{path}: the seed must be a mapping with 'organizations'")
    return document


def apply_seed(store: Store, path: Path | str) -> None:
    """Load a seed file into ``store`` and make it the state ``reset()`` returns to."""
    try:
        store.import_state(load_seed(path))
    except InvalidState as exc:
        raise SeedError(f"{path}: {exc}") from None
    store.mark_baseline()
