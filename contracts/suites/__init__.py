"""The suites, one module each, and the registry the engine runs them from.

Each suite is a function of the run's context (``contracts.engine.context``) that yields
events; the engine looks suites up here by name and knows nothing else of them.
"""

from __future__ import annotations

from contracts.engine.context import SuiteRunner
from contracts.suites import auth, generated, isolation, robustness, secrets, sequences
from contracts.suites.model import machine

__all__ = ["RUNNERS"]

RUNNERS: dict[str, SuiteRunner] = {
    "auth": auth.run,
    "stateless": generated.run_stateless,
    "sequences": sequences.run,
    "model": machine.run,
    "secrets": secrets.run,
    "isolation": isolation.run,
    "robustness": robustness.run,
}
