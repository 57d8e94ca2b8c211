"""Reporters turn the engine's events into output; nothing else in the suite writes anywhere."""

from __future__ import annotations

from typing import Protocol

from contracts.events import Event

__all__ = ["Reporter"]


class Reporter(Protocol):
    """Receives every event of a run, in order."""

    def handle(self, event: Event) -> None: ...
