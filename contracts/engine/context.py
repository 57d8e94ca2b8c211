"""What every suite is handed: the run's configuration, the target, the secrets, the guard.

Suites depend on this module, the engine on the suites' registry (``contracts.suites``):
the context knows no suite, so nothing imports back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from contracts.engine.config import CheckConfig
from contracts.engine.events import Event, Failure, FailureFound
from contracts.engine.verdicts import Tally, Violation
from contracts.http.client import Exchange, Target
from contracts.http.curl import Masker
from contracts.safety.guard import Guard
from contracts.secrets import SecretBook

__all__ = ["SECRET_CHECK", "RunContext", "SuiteRunner"]

SECRET_CHECK = "password_never_returned"


@dataclass
class RunContext:
    """What every suite gets: the configuration, the target as one or two organizations, and helpers."""

    config: CheckConfig
    document: dict[str, Any]
    target: Target
    other: Target | None
    book: SecretBook
    masker: Masker
    guard: Guard
    tally: Tally = field(default_factory=Tally)
    # Requests sent by schemathesis (our own client counts its own).
    generated_requests: int = 0
    # The clients of lanes 1 and up (lane 0's is ``target``), see ``contracts.engine.parallel``.
    lane_targets: dict[int, Target] = field(default_factory=dict)

    def lane_target(self, lane: int) -> Target:
        """The first organization's client for one lane: ``target`` for lane 0, else one of its own.

        Call it from the calling thread, before the lanes start.
        """
        if lane == 0:
            return self.target
        if lane not in self.lane_targets:
            self.lane_targets[lane] = Target(
                self.target.base_url,
                self.config.token,
                timeout=self.config.request_timeout,
                max_body=self.config.max_response_size,
                observer=self.target.observer,
                guard=self.guard,
            )
        return self.lane_targets[lane]

    @property
    def sent_by_us(self) -> int:
        """Requests our own clients sent, every lane's too (schemathesis's: ``generated_requests``)."""
        targets = [self.target, self.other, *self.lane_targets.values()]
        return sum(target.count for target in targets if target is not None)

    def close_lanes(self) -> None:
        for target in self.lane_targets.values():
            target.close()

    def hide(self, text: str) -> str:
        """``text`` with the API keys as ``$TOKEN`` and the run's passwords as ``***``."""
        return self.book.mask(self.masker.mask(text))

    def failure(self, failure: Failure) -> FailureFound:
        """The event for a failure, with keys and passwords masked and the replay command added."""
        return FailureFound(
            replace(
                failure,
                operation=self.hide(failure.operation),
                message=self.hide(failure.message),
                steps=tuple(self.hide(step) for step in failure.steps),
                seed=self.config.seed,
                replay=self.config.replace(checks=(failure.check,)).replay_command,
            )
        )

    def violation(
        self,
        violation: Violation,
        operation: str | None = None,
        curl: Callable[[Exchange], str] | None = None,
    ) -> FailureFound:
        """The event for one of our suites' violations; counts it as failed.

        ``curl`` renders an exchange's reproduction when the default (its ``curl``, keys
        masked) will not do, e.g. for a body too long to print.
        """
        self.tally.failed(violation.check)
        exchanges = violation.exchanges
        if operation is None:
            operation = exchanges[-1].label if exchanges else violation.check
        render = curl or (lambda exchange: exchange.curl(self.masker))
        steps = tuple(render(exchange) for exchange in exchanges)
        return self.failure(
            Failure(check=violation.check, operation=operation, message=violation.message, steps=steps)
        )

    def selects(self, check: str) -> bool:
        return self.config.selects(check)

    def observe(self, exchange: Exchange) -> None:
        """Search every response our suites receive for the run's passwords."""
        if not self.selects(SECRET_CHECK):
            return
        leak = self.book.find(exchange.headers, exchange.body)
        if leak is None:
            self.tally.passed(SECRET_CHECK)
            return
        raise Violation.expected(SECRET_CHECK, "no password in the response", f"{leak.describe()}", exchange)


SuiteRunner = Callable[[RunContext], Iterator[Event]]
