"""Why a run ends other than "conformant": each exception class carries its exit code.

    ContractsError (exit 2)          the run could not be done at all
     ├── UsageError                  bad options or configuration; the message says how to fix it
     ├── TargetUnreachable           nothing answered at the base URL, or it refused the token
     ├── TargetThrottled             the target kept answering 429 past --max-rate-limit-wait
     └── InvalidSpec                 the OpenAPI document cannot be loaded
    ViolationsFound (exit 1)         the run finished and the target breaks the contract

A conformant run raises nothing and exits 0.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_CONFORMANT",
    "ContractsError",
    "InvalidSpec",
    "TargetThrottled",
    "TargetUnreachable",
    "UsageError",
    "ViolationsFound",
]

EXIT_CONFORMANT = 0


class ContractsError(Exception):
    """The run could not be done; ``str(exc)`` is the one-line reason shown to the user."""

    exit_code: ClassVar[int] = 2


class UsageError(ContractsError, ValueError):
    """Options or configuration are wrong; the message says how to fix them."""


class TargetUnreachable(ContractsError, ConnectionError):
    """The target did not answer, or refused the token the run was given."""


class TargetThrottled(ContractsError):
    """The target answered ``429`` for longer than the run may wait in all: no verdict is possible."""


class InvalidSpec(ContractsError):
    """The OpenAPI document that drives the checks cannot be loaded."""


class ViolationsFound(Exception):
    """The run finished and found contract violations."""

    exit_code: ClassVar[int] = 1
