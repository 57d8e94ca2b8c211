"""The pytest form of the suite: ``pytest contracts [--base-url URL --token KEY] [--seed N]``.

The same engine as ``sip-trunks check`` runs once per session; each check is one test.
Without ``--base-url`` the embedded mock is started, as the command does.
"""

from __future__ import annotations

import pytest

from contracts.engine.config import SECOND_TOKEN_ENV, TOKEN_ENV, CheckConfig
from contracts.errors import UsageError
from contracts.pytest_form import CONFIG_KEY, FINISHED_KEY, Conformance, cleanup_lines, run_once

OPTIONS = ("base_url", "token", "second_token", "max_examples", "seed", "concurrency", "min_coverage")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sip-trunks", "sip-trunks conformance suite (same options as `sip-trunks check`)")
    group.addoption(
        "--base-url", metavar="URL", help="The API to check; without it the embedded mock is checked."
    )
    group.addoption("--token", metavar="KEY", help=f"API key of the organization to check [env {TOKEN_ENV}].")
    group.addoption(
        "--second-token", metavar="KEY", help=f"API key of another organization [env {SECOND_TOKEN_ENV}]."
    )
    group.addoption("--max-examples", type=int, metavar="N", help="Generated examples per operation.")
    group.addoption("--seed", type=int, metavar="N", help="Seed of the run.")
    group.addoption(
        "--concurrency", type=int, metavar="N", help="Requests in flight at once (1: one at a time)."
    )
    # Not --html: pytest-html owns that name, and both may be installed.
    group.addoption(
        "--check-html",
        metavar="FILE.html",
        help="Write the run's self-contained HTML report (as `sip-trunks check --html`).",
    )
    group.addoption(
        "--min-coverage",
        metavar="PERCENT",
        help="Fail (test_api_coverage) when the run observed less than PERCENT of the documented responses.",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[CONFIG_KEY] = CheckConfig.from_options(
            **{name: config.getoption(name) for name in OPTIONS}, html=config.getoption("check_html")
        )
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    check_config = config.stash[CONFIG_KEY]
    target = check_config.base_url or "the embedded mock"
    return f"sip-trunks check: {target}, seed {check_config.seed} (replay with --seed {check_config.seed})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    # What the run exercised of the spec, as the command's summary says it.
    finished = config.stash.get(FINISHED_KEY, None)
    if finished is not None and finished.coverage is not None:
        terminalreporter.write_sep("-", "sip-trunks check coverage")
        terminalreporter.write_line(finished.coverage.line)
    # The run's last word, as the command ends with it: what was deleted, restored, or left.
    lines = cleanup_lines(config)
    if lines:
        terminalreporter.write_sep("-", "sip-trunks check cleanup")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Conformance:
    """The run of the selected checks, done once for the session."""
    return run_once(request)
