"""A JSON report of the run: the checks with their counts, each distinct failure, the API coverage."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contracts.engine.events import CleanupFinished, Coverage, RunFinished, RunStarted
from contracts.report import FileReporter

__all__ = ["JsonReporter", "as_dict", "render"]

FORMAT_VERSION = 1


def as_dict(started: RunStarted | None, finished: RunFinished) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "format": FORMAT_VERSION,
        "target": started.target if started else None,
        "embedded": started.embedded if started else None,
        "seed": finished.seed,
        "max_examples": started.max_examples if started else None,
        "exit_code": finished.exit_code,
        "elapsed_seconds": round(finished.elapsed, 3),
        "requests": finished.requests,
        "run_id": started.run_id if started else None,
        "safety": list(started.safety) if started else [],
        "notes": list(finished.notes),
        "cleanup": _cleanup(finished.cleanup),
        "checks": [{**asdict(result), "status": result.status} for result in finished.results],
        "failures": [{**asdict(failure), "title": failure.title} for failure in finished.failures],
        "coverage": _coverage(finished.coverage),
        "min_coverage": finished.min_coverage,
    }


def _coverage(coverage: Coverage | None) -> dict[str, Any] | None:
    """``{"operations": [{"operation", "documented", "observed", "undocumented"}, ...]}``."""
    if coverage is None:
        return None
    return {
        "operations": [
            {
                "operation": operation.operation,
                "documented": list(operation.documented),
                "observed": list(operation.observed),
                "undocumented": list(operation.undocumented),
            }
            for operation in coverage.operations
        ]
    }


def _cleanup(cleanup: CleanupFinished | None) -> dict[str, Any] | None:
    if cleanup is None:
        return None
    return {**asdict(cleanup), "clean": cleanup.clean, "line": cleanup.line}


def render(started: RunStarted | None, finished: RunFinished) -> str:
    """The JSON report's text."""
    return json.dumps(as_dict(started, finished), indent=2, ensure_ascii=False) + "\n"


class JsonReporter(FileReporter):
    """Writes the JSON report when the run finishes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, render)
