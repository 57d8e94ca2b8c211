"""API coverage: which documented responses of each operation a run actually got back.

Both HTTP clients of a run (ours and schemathesis's) tell the run's guard about every
answer; the engine hands each one to a ``CoverageRecorder``, which matches the concrete
path to the spec's path templates and the status to the operation's ``responses`` keys.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.engine.events import Coverage, OperationCoverage

__all__ = ["CoverageRecorder", "PathMatcher", "response_key"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAMETER = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class _Template:
    path: str
    pattern: re.Pattern[str]
    # OpenAPI matches concrete paths before templated ones: fewer parameters first.
    parameters: int


class PathMatcher:
    """Finds the spec's path template of a concrete path: ``/sip-trunks/3f9a`` → ``/sip-trunks/{id}``."""

    def __init__(self, templates: list[str]) -> None:
        compiled = [
            _Template(
                path,
                re.compile("^" + "[^/]+".join(re.escape(part) for part in _PARAMETER.split(path)) + "$"),
                len(_PARAMETER.findall(path)),
            )
            for path in templates
        ]
        self._templates = sorted(compiled, key=lambda template: template.parameters)

    def match(self, path: str) -> str | None:
        """The template ``path`` (relative to the base URL, a query allowed) belongs to, or None."""
        # Parameters arrive percent-encoded: an encoded "/" stays inside its segment.
        path = path.split("?", 1)[0]
        return next((template.path for template in self._templates if template.pattern.match(path)), None)


def response_key(documented: tuple[str, ...], status: int) -> str | None:
    """The ``responses`` key documenting ``status``: the code, else its range (``4XX``), else ``default``."""
    code = str(status)
    for key in (code, f"{code[0]}XX", f"{code[0]}xx", "default"):
        if key in documented:
            return key
    return None


class CoverageRecorder:
    """Collects (operation, status) for every answer; thread-safe, as schemathesis may use threads."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        # (METHOD, template) -> documented response keys, in spec order.
        self._documented: dict[tuple[str, str], tuple[str, ...]] = {}
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            for method in _METHODS:
                operation = item.get(method)
                if isinstance(operation, dict):
                    responses = operation.get("responses") or {}
                    self._documented[(method.upper(), path)] = tuple(str(key) for key in responses)
        self._matcher = PathMatcher(list(dict.fromkeys(path for _, path in self._documented)))
        self._seen: dict[tuple[str, str], set[int]] = {key: set() for key in self._documented}
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: int) -> None:
        """Note one answer; a path or method the spec does not have is no operation, and is left out."""
        template = self._matcher.match(path)
        key = (method.upper(), template or "")
        if template is None or key not in self._seen or status <= 0:
            return
        with self._lock:
            self._seen[key].add(status)

    def coverage(self) -> Coverage:
        """Every operation of the spec, in spec order, with what was observed of it."""
        with self._lock:
            seen = {key: sorted(statuses) for key, statuses in self._seen.items()}
        operations = []
        for (method, path), documented in self._documented.items():
            keys = {status: response_key(documented, status) for status in seen[(method, path)]}
            observed = set(keys.values())
            undocumented = [str(status) for status, key in keys.items() if key is None]
            operations.append(
                OperationCoverage(
                    operation=f"{method} {path}",
                    documented=documented,
                    observed=tuple(key for key in documented if key in observed),
                    undocumented=tuple(undocumented),
                )
            )
        return Coverage(tuple(operations))
