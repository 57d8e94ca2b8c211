"""Mutants: the mock with one planted contract defect each, reached only over HTTP.

A mutant is one small object: a ``Store`` subclass that overrides one method (served with
``create_app(config, store=...)``), or a ``Rewriting`` middleware that changes one kind of
request or response. Its docstring says what is wrong. ``CORPUS`` maps each mutant to the
check that must catch it; ``tests/contracts/test_mutants.py`` and ``make mutants`` run it.
The mutants are grouped by kind, one module each, where tests import them from: ``leaks``,
``model``, ``isolation``, ``protocol``, ``inputs``, ``robustness``; ``harness`` holds
``Rewriting``, ``corpus`` the rest.
"""

from __future__ import annotations

from .corpus import CORPUS, MAX_TRUNKS, Mutant, Planted, serving
from .harness import App, Message, Receive, Rewriting, Scope, Seen, Send

__all__ = [
    "CORPUS",
    "MAX_TRUNKS",
    "App",
    "Message",
    "Mutant",
    "Planted",
    "Receive",
    "Rewriting",
    "Scope",
    "Seen",
    "Send",
    "serving",
]
