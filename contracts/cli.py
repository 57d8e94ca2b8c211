"""``sip-trunks check``: options → ``CheckConfig`` → ``engine.run`` → reporters → exit code.

This module is the composition root: the only place in ``contracts`` that may start the
embedded mock (``mockserver``), and only when no ``--base-url`` is given.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from contracts import engine
from contracts.catalog import CHECKS, SUITES
from contracts.config import DEFAULT_MAX_EXAMPLES, SECOND_TOKEN_ENV, TOKEN_ENV, CheckConfig
from contracts.errors import ContractsError, TargetUnreachable, UsageError
from contracts.events import RunFinished
from contracts.reporters import Reporter
from contracts.reporters.console import ConsoleReporter
from contracts.reporters.json_report import JsonReporter
from contracts.reporters.junit import JUnitReporter

__all__ = ["check", "embedded_tokens", "execute", "target_for"]

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
    """Run the suite, feeding every event to every reporter; return the final event."""
    finished: RunFinished | None = None
    with target_for(config) as resolved:
        for event in engine.run(resolved):
            for reporter in reporters:
                reporter.handle(event)
            if isinstance(event, RunFinished):
                finished = event
    assert finished is not None, "the engine always ends with RunFinished"
    return finished


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
@click.option("--list-checks", is_flag=True, help="List the checks and what they verify, then exit.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress for every operation.")
def check(
    base_url: str | None,
    token: str | None,
    second_token: str | None,
    max_examples: int | None,
    seed: int | None,
    checks: str | None,
    junit_xml: Path | None,
    report: Path | None,
    list_checks: bool,
    verbose: bool,
) -> None:
    """Check a SIP trunks API against the contract; exit 0 conformant, 1 violations, 2 could not run.

    \b
      sip-trunks check                                   check the embedded mock
      sip-trunks check --base-url URL --token KEY        check a deployment
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
            checks=checks,
            junit_xml=junit_xml,
            report=report,
        )
        reporters: list[Reporter] = [ConsoleReporter(out=sys.stdout, err=sys.stderr, verbose=verbose)]
        if config.junit_xml is not None:
            reporters.append(JUnitReporter(config.junit_xml))
        if config.report is not None:
            reporters.append(JsonReporter(config.report))
        finished = execute(config, reporters)
    except ContractsError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        _fail(ContractsError("interrupted"))
    sys.exit(finished.exit_code)
