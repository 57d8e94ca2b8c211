"""The conformance engine: runs the selected suites against a target and yields events.

It reaches the target only over HTTP, given a base URL and a token; it never starts a
server (the composition root, ``contracts.cli``, does that for the embedded mock). Every
text that leaves it has the API keys masked. Every request passes the run's ``Guard``
(``contracts.safety.guard``); whatever ends the run (the last suite, a budget, Ctrl-C, a crash),
the trunks it created are deleted and the phone numbers it changed put back, and a
``CleanupFinished`` event says so. ``RunFinished`` carries the run's API coverage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import yaml

from contracts.engine.catalog import CHECKS, SUITES, by_name
from contracts.engine.config import CheckConfig
from contracts.engine.context import RunContext
from contracts.engine.coverage import CoverageRecorder
from contracts.engine.events import (
    CheckResult,
    CheckSkipped,
    CleanupFinished,
    Event,
    Failure,
    FailureFound,
    RunFinished,
    RunStarted,
    SuiteFinished,
    SuiteStarted,
    Tallied,
)
from contracts.engine.parallel import serialize_parsing
from contracts.engine.verdicts import Violation
from contracts.errors import InvalidSpec, TargetThrottled, TargetUnreachable, UsageError
from contracts.http.client import Target
from contracts.http.curl import Masker
from contracts.safety.cleanup import cleanup
from contracts.safety.guard import Guard, Throttled
from contracts.safety.journal import ledger_for
from contracts.safety.ledger import FIRST, SECOND, Ledger, new_run_id
from contracts.secrets import SecretBook, activate
from contracts.suites import RUNNERS

__all__ = ["forbidden_checks", "guard_for", "run", "sweep"]

# The name under which the first request is sent: its failure means "could not run", not a check.
_PROBE = "probe"
# Suites that create trunks: none of their checks can run --read-only.
_WRITING_SUITES = ("model", "secrets", "isolation", "sequences", "robustness")
# Checks that send methods a path lacks: left out of a --read-only run.
_UNEXPECTED_METHODS = ("unsupported_method", "allow_header_conformance")
# Checks that need to change a phone number's link.
_PHONE_WRITES = ("unknown_trunk_is_422", "delete_cascade", "isolation_link")
# A sip-trunks mock says here whether it takes any key as an organization (beside the API it
# serves, so under the base URL: a mock serves both at its root).
MOCK_HEALTH = "/__admin/health"
# Checks that need a key no organization has to be refused: a mock that takes any key cannot pass them.
NEED_UNKNOWN_KEY_REFUSED = ("auth_required", "ignored_auth")
# A target whose best answer comes faster than this is near: the run takes one lane (see _near).
NEAR_TARGET_SECONDS = 0.005
# Seconds the cleanup may take: short after Ctrl-C or SIGTERM (the user wants the run to end
# now; --cleanup RUN_ID finishes the job), longer at the end of a run.
CLEANUP_DEADLINE_INTERRUPTED = 10.0
CLEANUP_DEADLINE = 120.0
ANY_KEY_REASON = (
    "the target is a sip-trunks mock that accepts any key; start it with --token to check authentication"
)


def forbidden_checks(config: CheckConfig) -> dict[str, str]:
    """The selected checks that the safety options leave out, with the reason."""
    forbidden: dict[str, str] = {}
    for name in config.checks:
        suite = by_name(name).suite
        if config.read_only and suite in _WRITING_SUITES:
            forbidden[name] = "--read-only: it creates trunks or changes phone numbers"
        elif config.read_only and name in _UNEXPECTED_METHODS:
            forbidden[name] = "--read-only: it sends methods the paths lack"
        elif not config.phone_writes and name in _PHONE_WRITES:
            forbidden[name] = "--no-phone-writes: it changes a phone number's link"
    return forbidden


def guard_for(config: CheckConfig, ledger: Ledger) -> Guard:
    """The run's guard, from its safety options."""
    tokens = {token: org for token, org in ((config.token, FIRST), (config.second_token, SECOND)) if token}
    return Guard(
        ledger,
        tokens,
        read_only=config.read_only,
        phone_writes=config.phone_writes,
        rate=config.rate_limit,
        max_requests=config.max_requests,
        time_budget=config.time_budget,
        max_rate_limit_wait=config.max_rate_limit_wait,
    )


def run(config: CheckConfig) -> Iterator[Event]:
    """Check ``config.base_url`` against the spec; yield events ending with ``RunFinished``.

    Raises a ``ContractsError`` when the run cannot be done (the target does not answer,
    refuses the token, or the spec cannot be loaded). An interrupted or crashed run yields
    ``CleanupFinished`` before the exception goes on.
    """
    if config.base_url is None or config.token is None:
        raise UsageError(
            "the engine needs a base URL and a token; start the embedded mock with `sip-trunks check`"
        )
    started = time.monotonic()
    if config.concurrency > 1:
        serialize_parsing()  # schemathesis's workers and our lanes parse source in threads
    document = _load_spec(config)
    book = SecretBook.for_seed(config.seed)
    book.note_public([config.spec_path.read_text(encoding="utf-8")])
    masker = Masker.for_tokens(config.token, config.second_token)
    results = _Results(config)
    ledger = ledger_for(config, config.run_id or new_run_id())
    guard = guard_for(config, ledger)
    forbidden = forbidden_checks(config)
    allowed = config.replace(checks=tuple(name for name in config.checks if name not in forbidden))
    notes: list[str] = []
    recorder = CoverageRecorder(document)

    recording = threading.Lock()  # lanes answer from several threads

    def record(method: str, path: str, status: int) -> None:
        if not guard.cleaning:  # the cleanup's answers are checked by nothing: no coverage
            with recording:
                recorder.record(method, path, status)

    guard.on_answer = record
    with activate(book), _open_targets(config, guard) as (target, other), ExitStack() as lanes:
        ctx = RunContext(
            config=allowed,
            document=document,
            target=target,
            other=other,
            book=book,
            masker=masker,
            guard=guard,
        )
        lanes.callback(ctx.close_lanes)
        target.observer = ctx.observe
        try:
            _probe(target, "--token", masker)
            if other is not None:
                other.observer = ctx.observe
                _probe(other, "--second-token", masker)
            if allowed.auto_concurrency and allowed.concurrency > 1 and _near(target):
                ctx.config = ctx.config.replace(concurrency=1)
        except Throttled as exc:  # before anything was created: nothing to clean up
            raise TargetThrottled(f"no verdict: {exc}") from None
        yield RunStarted(
            target=config.base_url,
            embedded=config.embedded,
            seed=config.seed,
            max_examples=config.max_examples,
            checks=config.checks,
            run_id=ledger.run_id,
            safety=config.safety,
            replay=config.replace(concurrency=ctx.config.concurrency).replay_command,
        )
        for name, reason in forbidden.items():
            results.add(CheckSkipped(name, reason))
            yield CheckSkipped(name, reason)
        try:
            _snapshot(ctx)
            for event in _skip_if_any_key_mock(ctx):
                results.add(event)
                yield event
            yield from _suites(ctx, results)
        except GeneratorExit:  # the consumer stopped listening: clean up without a word
            _cleanup(ctx, interrupted=True)
            raise
        except KeyboardInterrupt:
            if guard.stopped is None:  # Ctrl-C or SIGTERM, not the budget
                yield _cleanup(ctx, interrupted=True)
                raise
        except BaseException:  # a crash: clean up, then let it be reported
            yield _cleanup(ctx, interrupted=True)
            raise
        if guard.stopped is not None:
            notes.append(f"stopped early: {guard.stopped}; the results cover the requests sent until then")
        cleaned = _cleanup(ctx, interrupted=guard.throttled)  # throttled: no summary follows
        yield cleaned
        if guard.throttled:
            raise TargetThrottled(f"no verdict: {guard.stopped}")
        requests = ctx.generated_requests + ctx.sent_by_us
    yield RunFinished(
        results=results.finish(),
        failures=tuple(results.failures),
        elapsed=time.monotonic() - started,
        seed=config.seed,
        requests=requests,
        notes=tuple(notes),
        cleanup=cleaned,
        coverage=recorder.coverage(),
        min_coverage=config.min_coverage,
    )


def _suites(ctx: RunContext, results: _Results) -> Iterator[Event]:
    """Run each selected suite; a spent budget ends the current one and skips the rest."""
    for suite in ctx.config.suites:
        suite_started = time.monotonic()
        yield SuiteStarted(suite=suite, description=SUITES[suite])
        try:
            for event in RUNNERS[suite](ctx):
                if results.add(event):
                    yield event
        except Violation as violation:  # raised outside any check's own handling: ends the suite
            event = ctx.violation(violation)
            if results.add(event):
                yield event
        except KeyboardInterrupt:
            if ctx.guard.stopped is None:
                raise
        for event in ctx.tally.drain():
            results.add(event)
            yield event
        yield SuiteFinished(suite=suite, elapsed=time.monotonic() - suite_started)
        if ctx.guard.stopped is not None:
            return


def _snapshot(ctx: RunContext) -> None:
    """Phone numbers as they are before the run, to put back what it changes (trunks: the probe)."""
    if ctx.config.read_only:
        return
    for target in (ctx.target, ctx.other):
        if target is not None:
            # A failure here shows again in the checks' own requests.
            with suppress(Violation):
                target.request(_PROBE, "GET", "/phone-numbers")


def accepts_any_key(target: Target) -> bool:
    """Whether the target says it is a sip-trunks mock that takes any key (``GET {base}/__admin/health``).

    Sent without a key. Anything but a 200 whose JSON has ``"accepts_any_key": true`` (a 404
    from a real API, no answer, another body) means no, and the run goes on unchanged.
    """
    try:
        exchange = target.request(_PROBE, "GET", MOCK_HEALTH, authorization=None)
        body = exchange.json() if exchange.status == 200 else None
    except (Violation, ValueError):
        return False
    return isinstance(body, dict) and body.get("accepts_any_key") is True


def _skip_if_any_key_mock(ctx: RunContext) -> Iterator[CheckSkipped]:
    """Against a sip-trunks mock that takes any key, skip the checks that need an unknown key refused."""
    wanted = [name for name in NEED_UNKNOWN_KEY_REFUSED if ctx.selects(name)]
    if not wanted or not accepts_any_key(ctx.target):
        return
    ctx.config = ctx.config.replace(checks=tuple(name for name in ctx.config.checks if name not in wanted))
    for name in wanted:
        yield CheckSkipped(name, ANY_KEY_REASON)


def _cleanup(ctx: RunContext, *, interrupted: bool = False) -> CleanupFinished:
    """Delete what the run created and put back what it changed, as the organization that did it."""
    ctx.guard.cleaning = True
    targets = {FIRST: ctx.target}
    if ctx.other is not None:
        targets[SECOND] = ctx.other
    for target in targets.values():
        target.observer = None  # clean-up answers are not checked
    allowed = CLEANUP_DEADLINE_INTERRUPTED if interrupted else CLEANUP_DEADLINE
    return cleanup(ctx.guard.ledger, targets, interrupted=interrupted, not_after=time.monotonic() + allowed)


def sweep(config: CheckConfig) -> CleanupFinished:
    """``--cleanup RUN_ID``: delete the trunks named with that run's prefix, in each organization."""
    assert config.base_url is not None and config.token is not None and config.cleanup is not None
    ledger = ledger_for(config, config.cleanup)
    guard = guard_for(config.replace(max_requests=None, time_budget=None), ledger)
    guard.cleaning = True
    masker = Masker.for_tokens(config.token, config.second_token)
    with _open_targets(config, guard) as (target, other):
        _probe(target, "--token", masker)
        targets = {FIRST: target} if other is None else {FIRST: target, SECOND: other}
        return cleanup(ledger, targets, sweep=True)


@contextmanager
def _open_targets(config: CheckConfig, guard: Guard) -> Iterator[tuple[Target, Target | None]]:
    """The target as the first organization, and as the second one if there is a key for it."""
    assert config.base_url is not None
    with ExitStack() as stack:

        def target(token: str) -> Target:
            assert config.base_url is not None
            return Target(
                config.base_url,
                token,
                timeout=config.request_timeout,
                max_body=config.max_response_size,
                guard=guard,
            )

        first = stack.enter_context(target(config.token or ""))
        second = stack.enter_context(target(config.second_token)) if config.second_token else None
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


def _near(target: Target) -> bool:
    """Whether the target answers within ``NEAR_TARGET_SECONDS`` (the best of three ``GET /sip-trunks``).

    Lanes hide a far target's round trips; against one that answers at once (a mock on the
    loopback) they only compete with it for the CPU, and the run is faster in one lane.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        try:
            target.request(_PROBE, "GET", "/sip-trunks")
        except Violation:
            return False
        best = min(best, time.perf_counter() - started)
    return best < NEAR_TARGET_SECONDS


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
