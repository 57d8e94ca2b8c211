"""Reporters turn the engine's events into output; nothing else in the suite writes anywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from contracts.engine.events import Event, RunFinished, RunStarted

__all__ = ["FileReporter", "Reporter"]

Render = Callable[[RunStarted | None, RunFinished], str]


class Reporter(Protocol):
    """Receives every event of a run, in order."""

    def handle(self, event: Event) -> None: ...


class FileReporter:
    """Writes one file when the run finishes, rendered from the run's first and last events."""

    def __init__(self, path: Path, render: Render) -> None:
        self.path = path
        self._render = render
        self._started: RunStarted | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._started = event
        elif isinstance(event, RunFinished):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self._render(self._started, event), encoding="utf-8")
