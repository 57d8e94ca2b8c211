"""``sip-trunks check``: options → ``CheckConfig`` → ``engine.run`` → reporters → exit code.

This module is the composition root: the only place in ``contracts`` that may start the
embedded mock (``mockserver``), and only when no ``--base-url`` is given.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from contracts.engine import core as engine
from contracts.engine.catalog import CHECKS, SUITES
from contracts.engine.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_EXAMPLES,
    SECOND_TOKEN_ENV,
    STATE_DIR_ENV,
    TOKEN_ENV,
    CheckConfig,
)
from contracts.engine.events import CleanupFinished, Event, RunFinished
from contracts.errors import ContractsError, TargetUnreachable, UsageError
from contracts.report import Reporter
from contracts.report.console import ConsoleReporter
from contracts.report.html import HtmlReporter
from contracts.report.json_report import JsonReporter
from contracts.report.junit import JUnitReporter
from contracts.safety.journal import kept_ledger_note

__all__ = ["check", "confirm", "embedded_tokens", "execute", "target_for"]

EMBEDDED_MAX_TRUNKS = 1_000_000


class _OneLineErrors(click.Command):
    """Bad options end with one line on stderr and exit 2, like every other reason not to run."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _fail(UsageError(exc.format_message()))


def _fail(exc: ContractsError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def embedded_tokens(seed: int) -> tuple[str, str]:
    """Made-up API keys of the two organizations of the embedded mock."""
    digest = hashlib.sha256(f"embedded:{seed}".encode()).hexdigest()
    return f"stk-embedded-a-{digest[:12]}", f"stk-embedded-b-{digest[12:24]}"


@contextmanager
def target_for(config: CheckConfig) -> Iterator[CheckConfig]:
    """``config`` with a target: its own base URL, or the embedded mock started here for the run."""
    if config.base_url is not None:
        yield config
        return
    try:
        from mockserver import MockConfig, running_mock
    except ImportError as exc:
        raise UsageError(f"the embedded mock is not available ({exc}); give --base-url and --token") from exc
    token, second_token = embedded_tokens(config.seed)
    # A cap far above what any budget creates: 409 would only be noise here.
    mock_config = MockConfig(
        host="127.0.0.1",
        port=0,
        tokens=(token, second_token),
        access_log=False,
        max_trunks=EMBEDDED_MAX_TRUNKS,
    )
    with ExitStack() as stack:
        stack.enter_context(_quiet_logs("connexion", "uvicorn", "mockserver"))
        try:
            with warnings.catch_warnings():  # connexion's imports warn about its own dependencies
                warnings.simplefilter("ignore")
                mock = stack.enter_context(running_mock(mock_config))
        except Exception as exc:  # any reason the mock cannot start ends the run
            raise TargetUnreachable(f"could not start the embedded mock: {exc}") from exc
        yield config.replace(base_url=mock.base_url, token=token, second_token=second_token, embedded=True)


@contextmanager
def _quiet_logs(*names: str) -> Iterator[None]:
    """Keep the embedded mock's log records off the terminal: reporters own the output."""
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.handlers[:]))
        logger.propagate = False
        logger.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        for logger, propagate, handlers in saved:
            logger.propagate = propagate
            logger.handlers = handlers


def execute(config: CheckConfig, reporters: Sequence[Reporter]) -> RunFinished:
    """Run the suite, feeding every event to every reporter; return the final event.

    Ctrl-C while a reporter is busy is handed to the engine, so it cleans up and reports
    it like a Ctrl-C during a request; the ``KeyboardInterrupt`` then goes on.
    """
    finished: RunFinished | None = None

    def feed(event: Event) -> None:
        nonlocal finished
        for reporter in reporters:
            reporter.handle(event)
        if isinstance(event, RunFinished):
            finished = event

    with target_for(config) as resolved:
        events = engine.run(resolved)
        for event in events:
            try:
                feed(event)
            except KeyboardInterrupt:
                for late in _thrown(events):
                    feed(late)
                raise
    assert finished is not None, "the engine always ends with RunFinished"
    return finished


def _thrown(events: Iterator[Event]) -> Iterator[Event]:
    """The events the engine still yields after a ``KeyboardInterrupt`` thrown into it (its cleanup)."""
    try:
        event = events.throw(KeyboardInterrupt())  # type: ignore[attr-defined]
        while True:
            yield event
            event = next(events)
    except (KeyboardInterrupt, StopIteration):
        return


def sweep(config: CheckConfig, reporters: Sequence[Reporter]) -> CleanupFinished:
    """``--cleanup RUN_ID``: delete that run's leftovers; report the final line."""
    with target_for(config) as resolved:
        cleaned = engine.sweep(resolved)
    for reporter in reporters:
        reporter.handle(cleaned)
    return cleaned


class Terminated(KeyboardInterrupt):
    """SIGTERM: the run stops and cleans up as it does for Ctrl-C."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the run goes, SIGTERM raises ``Terminated`` in the main thread, like SIGINT does."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interactive() -> bool:
    """Whether someone can answer a prompt (stdin is a terminal); tests replace it."""
    return sys.stdin.isatty()


def confirm(config: CheckConfig, *, yes: bool) -> None:
    """A run that changes data on another machine needs ``--yes`` or a ``y`` typed at the prompt."""
    if not config.needs_confirmation or yes:
        return
    assert config.base_url is not None
    host = urlsplit(config.base_url).hostname
    what = f"delete the leftovers of run {config.cleanup}" if config.cleanup else "create, change and delete"
    click.echo(f"target host: {host}", err=True)
    if not _interactive():
        raise UsageError(
            f"{host} is not this machine and the run will {what} trunks there; "
            "add --yes to confirm (or --read-only)"
        )
    try:
        confirmed = click.confirm(f"The run will {what} trunks on {host} (its own only). Go on?", err=True)
    except click.Abort:  # end of input or Ctrl-C at the prompt: click would exit 1, "violations found"
        confirmed = False
    if not confirmed:
        raise UsageError("not confirmed; nothing was sent")


class _KeptLedgerNote:
    """After a cleanup that left something, says on stderr where the run's ledger is kept."""

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = state_dir

    def handle(self, event: Event) -> None:
        cleaned = event.cleanup if isinstance(event, RunFinished) else None
        if isinstance(event, CleanupFinished) and (event.interrupted or event.sweep):
            cleaned = event  # no RunFinished follows
        if cleaned is None or cleaned.clean:
            return
        note = kept_ledger_note(self._state_dir, cleaned.run_id)
        if note is not None:
            click.echo(note, err=True)


def _list_checks() -> str:
    width = max(len(info.name) for info in CHECKS)
    lines = []
    for suite, description in SUITES.items():
        lines.append(f"{suite}: {description}")
        lines += [f"  {info.name:<{width}}  {info.description}" for info in CHECKS if info.suite == suite]
    return "\n".join(lines)


@click.command(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--base-url",
    metavar="URL",
    help="The API to check, e.g. https://api.example.com/v1. Without it, the embedded mock is checked.",
)
@click.option(
    "--token",
    metavar="KEY",
    help=f"API key of the organization to check [env {TOKEN_ENV}]. Required with --base-url.",
)
@click.option(
    "--second-token",
    metavar="KEY",
    help=f"API key of another organization, for the isolation checks [env {SECOND_TOKEN_ENV}].",
)
@click.option(
    "--max-examples",
    type=int,
    metavar="N",
    help=f"Generated examples per operation and state-machine programs [default: {DEFAULT_MAX_EXAMPLES}].",
)
@click.option(
    "--seed", type=int, metavar="N", help="Seed of the run; the same seed replays the same requests."
)
@click.option(
    "--concurrency",
    type=int,
    metavar="N",
    help=f"Requests in flight at once, in independent lanes, all within --rate-limit and the budgets; "
    f"1 sends one at a time [default: {DEFAULT_CONCURRENCY}; 1 for the embedded mock].",
)
@click.option(
    "--checks", "checks", metavar="NAME,...", help="Only these checks or suites (see --list-checks)."
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a JUnit XML report.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.json",
    help="Write a JSON report.",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.html",
    help="Write a self-contained HTML report (verdict, failures with reproductions, checks, API coverage).",
)
@click.option(
    "--min-coverage",
    metavar="PERCENT",
    help="Exit 1 when the run observed less than PERCENT of the documented responses (operation, "
    "status), listing the missing ones [default: no minimum].",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Send no request with a side effect (only GETs and unauthenticated ones).",
)
@click.option(
    "--no-phone-writes", is_flag=True, help="Never change a phone number (skips the checks that link them)."
)
@click.option("--rate-limit", metavar="N/s", help="Send at most N requests per second (10/s, 600/min).")
@click.option("--max-requests", type=int, metavar="N", help="Stop after N requests, then clean up.")
@click.option("--time-budget", metavar="DURATION", help="Stop after this long (90s, 5m), then clean up.")
@click.option(
    "--request-timeout",
    metavar="DURATION",
    help="Give up on a request after this long in all: connect, headers and body [default: 10s].",
)
@click.option(
    "--max-response-size",
    metavar="SIZE",
    help="Read at most this much of an answer; a larger one is a violation [default: 2MiB].",
)
@click.option(
    "--max-rate-limit-wait",
    metavar="DURATION",
    help="Stop (exit 2) once 429 answers have made the run wait this long in all [default: 60s].",
)
@click.option(
    "--cleanup",
    "cleanup",
    metavar="RUN_ID",
    help="Undo what an earlier run left: delete its trunks (named sip-trunks-check-RUN_ID-...) and put "
    "back the phone-number links its ledger (in --state-dir) lists, then exit.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help=f"Where the run journals its ledger, for --cleanup after a crash [env {STATE_DIR_ENV}; "
    "default: $XDG_STATE_HOME/sip-trunks-kit/runs, else ~/.local/state/sip-trunks-kit/runs].",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing data on a non-loopback host.")
@click.option("--list-checks", is_flag=True, help="List the checks and what they verify, then exit.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress for every operation.")
def check(
    base_url: str | None,
    token: str | None,
    second_token: str | None,
    max_examples: int | None,
    seed: int | None,
    concurrency: int | None,
    checks: str | None,
    junit_xml: Path | None,
    report: Path | None,
    html: Path | None,
    min_coverage: str | None,
    read_only: bool,
    no_phone_writes: bool,
    rate_limit: str | None,
    max_requests: int | None,
    time_budget: str | None,
    request_timeout: str | None,
    max_response_size: str | None,
    max_rate_limit_wait: str | None,
    cleanup: str | None,
    state_dir: Path | None,
    yes: bool,
    list_checks: bool,
    verbose: bool,
) -> None:
    """Check a SIP trunks API against the contract; exit 0 conformant, 1 violations, 2 could not run.

    \b
      sip-trunks check                                   check the embedded mock
      sip-trunks check --base-url URL --token KEY        check a deployment
      sip-trunks check --base-url URL --cleanup RUN_ID   delete what an earlier run left

    The run deletes every trunk it created and puts back every phone number it changed,
    also on failure, Ctrl-C or SIGTERM; its last line says what was cleaned up. After a
    SIGKILL or a power cut, --cleanup RUN_ID does it from the run's ledger on disk.
    """
    if list_checks:
        click.echo(_list_checks())
        return
    try:
        config = CheckConfig.from_options(
            base_url=base_url,
            token=token,
            second_token=second_token,
            max_examples=max_examples,
            seed=seed,
            concurrency=concurrency,
            checks=checks,
            junit_xml=junit_xml,
            report=report,
            html=html,
            min_coverage=min_coverage,
            read_only=read_only,
            no_phone_writes=no_phone_writes,
            rate_limit=rate_limit,
            max_requests=max_requests,
            time_budget=time_budget,
            request_timeout=request_timeout,
            max_response_size=max_response_size,
            max_rate_limit_wait=max_rate_limit_wait,
            cleanup=cleanup,
            state_dir=state_dir,
        )
        confirm(config, yes=yes)
        reporters: list[Reporter] = [ConsoleReporter(out=sys.stdout, err=sys.stderr, verbose=verbose)]
        if config.state_dir is not None:
            reporters.append(_KeptLedgerNote(config.state_dir))
        with _terminate_as_interrupt():
            if config.cleanup is not None:
                cleaned = sweep(config, reporters)
                sys.exit(0 if cleaned.clean else 1)
            if config.junit_xml is not None:
                reporters.append(JUnitReporter(config.junit_xml))
            if config.report is not None:
                reporters.append(JsonReporter(config.report))
            if config.html is not None:
                reporters.append(HtmlReporter(config.html, state_dir=config.state_dir))
            finished = execute(config, reporters)
    except ContractsError as exc:
        _fail(exc)
    except Terminated:
        _fail(ContractsError("terminated (SIGTERM)"))
    except KeyboardInterrupt:
        _fail(ContractsError("interrupted"))
    sys.exit(finished.exit_code)
