"""The conformance engine: runs the selected suites against a target and yields events.

It reaches the target only over HTTP, given a base URL and a token; it never starts a
server (the composition root, ``contracts.cli``, does that for the embedded mock). Every
text that leaves it has the API keys masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from contracts.catalog import CHECKS, SUITES, by_name
from contracts.config import CheckConfig
from contracts.curl import Masker
from contracts.errors import InvalidSpec, TargetUnreachable, UsageError
from contracts.events import (
    CheckResult,
    CheckSkipped,
    Event,
    Failure,
    FailureFound,
    RunFinished,
    RunStarted,
    SuiteFinished,
    SuiteStarted,
    Tallied,
)
from contracts.http import Exchange, Target
from contracts.secrets import SecretBook, activate
from contracts.verdicts import Tally, Violation

__all__ = ["RunContext", "SuiteRunner", "run"]

SECRET_CHECK = "password_never_returned"
# The name under which the first request is sent: its failure means "could not run", not a check.
_PROBE = "probe"


@dataclass
class RunContext:
    """What every suite gets: the configuration, the target as one or two organizations, and helpers."""

    config: CheckConfig
    document: dict[str, Any]
    target: Target
    other: Target | None
    book: SecretBook
    masker: Masker
    tally: Tally = field(default_factory=Tally)
    # Requests sent by schemathesis (our own client counts its own).
    generated_requests: int = 0

    def failure(self, failure: Failure) -> FailureFound:
        """The event for a failure, with the API keys masked and the replay command added."""
        return FailureFound(
            replace(
                failure,
                operation=self.masker.mask(failure.operation),
                message=self.masker.mask(failure.message),
                steps=tuple(self.masker.mask(step) for step in failure.steps),
                seed=self.config.seed,
                replay=self.config.replace(checks=(failure.check,)).replay_command,
            )
        )

    def violation(self, violation: Violation, operation: str | None = None) -> FailureFound:
        """The event for one of our suites' violations; counts it as failed."""
        self.tally.failed(violation.check)
        exchanges = violation.exchanges
        if operation is None:
            operation = exchanges[-1].label if exchanges else violation.check
        steps = tuple(exchange.curl(self.masker) for exchange in exchanges)
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


def _runners() -> dict[str, SuiteRunner]:
    # Imported here: each suite pulls in its own dependencies (schemathesis, hypothesis).
    from contracts import auth, generated, isolation, machine, secret_probes, sequences

    return {
        "auth": auth.run,
        "stateless": lambda ctx: generated.run(ctx, stateful=False),
        "sequences": sequences.run,
        "model": machine.run,
        "secrets": secret_probes.run,
        "isolation": isolation.run,
    }


def run(config: CheckConfig) -> Iterator[Event]:
    """Check ``config.base_url`` against the spec; yield events ending with ``RunFinished``.

    Raises a ``ContractsError`` when the run cannot be done (the target does not answer,
    refuses the token, or the spec cannot be loaded).
    """
    if config.base_url is None or config.token is None:
        raise UsageError(
            "the engine needs a base URL and a token; start the embedded mock with `sip-trunks check`"
        )
    started = time.monotonic()
    document = _load_spec(config)
    book = SecretBook.for_seed(config.seed)
    book.note_public([config.spec_path.read_text(encoding="utf-8")])
    masker = Masker.for_tokens(config.token, config.second_token)
    runners = _runners()
    results = _Results(config)
    with activate(book), _open_targets(config) as (target, other):
        ctx = RunContext(
            config=config, document=document, target=target, other=other, book=book, masker=masker
        )
        target.observer = ctx.observe
        _probe(target, "--token", masker)
        if other is not None:
            other.observer = ctx.observe
            _probe(other, "--second-token", masker)
        yield RunStarted(
            target=config.base_url,
            embedded=config.embedded,
            seed=config.seed,
            max_examples=config.max_examples,
            checks=config.checks,
        )
        for suite in config.suites:
            suite_started = time.monotonic()
            yield SuiteStarted(suite=suite, description=SUITES[suite])
            try:
                for event in runners[suite](ctx):
                    if results.add(event):
                        yield event
            except Violation as violation:  # raised outside any check's own handling: ends the suite
                event = ctx.violation(violation)
                if results.add(event):
                    yield event
            for event in ctx.tally.drain():
                results.add(event)
                yield event
            yield SuiteFinished(suite=suite, elapsed=time.monotonic() - suite_started)
        requests = ctx.generated_requests + target.count + (other.count if other is not None else 0)
    yield RunFinished(
        results=results.finish(),
        failures=tuple(results.failures),
        elapsed=time.monotonic() - started,
        seed=config.seed,
        requests=requests,
    )


@contextmanager
def _open_targets(config: CheckConfig) -> Iterator[tuple[Target, Target | None]]:
    """The target as the first organization, and as the second one if there is a key for it."""
    assert config.base_url is not None
    with ExitStack() as stack:
        first = stack.enter_context(Target(config.base_url, config.token, timeout=config.request_timeout))
        second = None
        if config.second_token:
            second = stack.enter_context(
                Target(config.base_url, config.second_token, timeout=config.request_timeout)
            )
        yield first, second


def _load_spec(config: CheckConfig) -> dict[str, Any]:
    try:
        with config.spec_path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidSpec(f"cannot read the spec {config.spec_path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise InvalidSpec(f"the spec {config.spec_path} is not an OpenAPI document (no paths)")
    return document


def _probe(target: Target, option: str, masker: Masker) -> None:
    """One GET /sip-trunks: the target must answer and accept the key."""
    try:
        exchange = target.request(_PROBE, "GET", "/sip-trunks")
    except Violation as exc:
        if exc.check == _PROBE:
            reason = masker.mask(exc.message.removeprefix("expected an HTTP answer, got "))
            raise TargetUnreachable(f"cannot reach {target.base_url}: {reason}") from None
        return  # a leak in the probe: the secrets check reports it later, on its own requests
    if exchange.status == 401:
        raise TargetUnreachable(
            f"{target.base_url} refused {option} (401 on GET /sip-trunks); check the API key"
        )
    if exchange.status == 404:
        raise TargetUnreachable(
            f"no SIP trunks API at {target.base_url} (404 on GET /sip-trunks); check --base-url"
        )


class _Results:
    """Aggregates counts and skips per check, and keeps each distinct failure once."""

    def __init__(self, config: CheckConfig) -> None:
        self._config = config
        self._passed: dict[str, int] = dict.fromkeys(config.checks, 0)
        self._failed: dict[str, int] = dict.fromkeys(config.checks, 0)
        self._skipped: dict[str, str] = {}
        self._seen: set[tuple[str, str, str]] = set()
        self.failures: list[Failure] = []

    def add(self, event: Event) -> bool:
        """Record ``event``; False when it should not be shown (a failure seen before)."""
        if isinstance(event, Tallied) and event.check in self._passed:
            self._passed[event.check] += event.passed
            self._failed[event.check] += event.failed
        elif isinstance(event, CheckSkipped):
            self._skipped.setdefault(event.check, event.reason)
        elif isinstance(event, FailureFound):
            failure = event.failure
            key = (failure.check, failure.operation, failure.message)
            if key in self._seen:
                return False
            self._seen.add(key)
            self.failures.append(failure)
            self._failed.setdefault(failure.check, 0)
        return True

    def finish(self) -> tuple[CheckResult, ...]:
        results = []
        failing = {failure.check for failure in self.failures}
        for info in CHECKS:
            if info.name not in self._config.checks and info.name not in failing:
                continue
            passed, failed = self._passed.get(info.name, 0), self._failed.get(info.name, 0)
            if failed == 0 and any(failure.check == info.name for failure in self.failures):
                failed = 1
            reason = self._skipped.get(info.name)
            if reason is None and passed == 0 and failed == 0:
                reason = "never evaluated: nothing in this run exercised it"
            results.append(
                CheckResult(
                    name=info.name,
                    suite=by_name(info.name).suite,
                    description=info.description,
                    passed=passed,
                    failed=failed,
                    skip_reason=reason if failed == 0 else None,
                )
            )
        return tuple(results)
