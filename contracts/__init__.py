"""The conformance suite: checks any SIP trunks API target against the spec over HTTP.

>>> from contracts import CheckConfig, run  # doctest: +SKIP
>>> config = CheckConfig.from_options(base_url="https://api.example.com", token="key", seed=1)
>>> for event in run(config):  # RunStarted, SuiteStarted, ..., RunFinished
...     print(event)

``sip-trunks check`` and ``pytest contracts`` are two front ends of ``run``.
"""

from __future__ import annotations

from contracts.engine.catalog import CHECK_NAMES, CHECKS, SUITES, CheckInfo
from contracts.engine.config import CheckConfig
from contracts.engine.core import run
from contracts.engine.events import CheckResult, Event, Failure, RunFinished
from contracts.errors import ContractsError, InvalidSpec, TargetUnreachable, UsageError, ViolationsFound

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "SUITES",
    "CheckConfig",
    "CheckInfo",
    "CheckResult",
    "ContractsError",
    "Event",
    "Failure",
    "InvalidSpec",
    "RunFinished",
    "TargetUnreachable",
    "UsageError",
    "ViolationsFound",
    "run",
]
