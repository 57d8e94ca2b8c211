"""Glue for the pytest form: run the engine once per session for the checks that were collected."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from contracts.engine.catalog import CHECK_NAMES
from contracts.engine.config import CheckConfig
from contracts.engine.events import CheckResult, Event, RunFinished
from contracts.errors import ContractsError
from contracts.report import Reporter
from contracts.report.console import render_coverage_gate, render_failure
from contracts.report.html import HtmlReporter
from contracts.safety.journal import kept_ledger_note

__all__ = ["CONFIG_KEY", "FINISHED_KEY", "Conformance", "cleanup_lines", "run_once"]

CONFIG_KEY = pytest.StashKey[CheckConfig]()
FINISHED_KEY = pytest.StashKey[RunFinished]()


@dataclass(frozen=True)
class Conformance:
    """A finished run, looked up by check name."""

    finished: RunFinished

    def result(self, check: str) -> CheckResult | None:
        return next((result for result in self.finished.results if result.name == check), None)

    @property
    def coverage_gate(self) -> str:
        """Under ``--min-coverage``: the bar and the documented responses never observed; else ``""``."""
        return render_coverage_gate(self.finished)

    def report(self, check: str) -> str:
        """The failures of one check as the console shows them."""
        failures = [failure for failure in self.finished.failures if failure.check == check]
        return "\n\n".join(render_failure(index, failure) for index, failure in enumerate(failures, 1))


class _Keep:
    finished: RunFinished | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.finished = event


def run_once(request: pytest.FixtureRequest) -> Conformance:
    from contracts.cli import execute  # the composition root: it starts the embedded mock if needed

    collected = {
        item.callspec.params["check"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and hasattr(item, "callspec") and "check" in item.callspec.params
    }
    config = request.config.stash[CONFIG_KEY]
    if collected:
        config = config.replace(checks=tuple(name for name in CHECK_NAMES if name in collected))
    keep = _Keep()
    reporters: list[Reporter] = [keep]
    if config.html is not None:
        reporters.append(HtmlReporter(config.html, state_dir=config.state_dir))
    try:
        finished = execute(config, reporters)
    except ContractsError as exc:
        pytest.exit(f"error: {exc}", returncode=exc.exit_code)
    request.config.stash[FINISHED_KEY] = finished
    return Conformance(finished)


def cleanup_lines(config: pytest.Config) -> list[str]:
    """What the run's cleanup did, as ``sip-trunks check`` ends with it; nothing before a run."""
    finished = config.stash.get(FINISHED_KEY, None)
    if finished is None or finished.cleanup is None:
        return []
    cleaned = finished.cleanup
    note = None if cleaned.clean else kept_ledger_note(config.stash[CONFIG_KEY].state_dir, cleaned.run_id)
    return [cleaned.line] + ([note] if note else [])
