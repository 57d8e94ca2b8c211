"""The settings of one run: a frozen object, with choices and environment fallbacks resolved here."""

from __future__ import annotations

import dataclasses
import os
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contracts.engine.catalog import CHECK_NAMES, SUITES, by_name
from contracts.errors import UsageError
from contracts.http.bounded import DEFAULT_MAX_BODY
from contracts.safety.guard import DEFAULT_MAX_RATE_LIMIT_WAIT, is_loopback, parse_duration, parse_rate
from contracts.safety.ledger import valid_run_id
from sip_trunks_openapi import SPEC_PATH

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_EXAMPLES",
    "EMBEDDED_CONCURRENCY",
    "MAX_CONCURRENCY",
    "SECOND_TOKEN_ENV",
    "STATE_DIR_ENV",
    "TOKEN_ENV",
    "CheckConfig",
    "default_state_dir",
    "parse_percent",
    "parse_size",
]

TOKEN_ENV = "SIP_TRUNKS_TOKEN"
SECOND_TOKEN_ENV = "SIP_TRUNKS_SECOND_TOKEN"
STATE_DIR_ENV = "SIP_TRUNKS_STATE_DIR"

# Examples per operation for generated requests; the state machines scale from it. Sized so
# that a default run against the embedded mock stays well under a minute on 2 cores.
DEFAULT_MAX_EXAMPLES = 50
MAX_SEED = 2**32 - 1
# Seconds for one whole request (connect, headers and body), 429 waits aside.
DEFAULT_REQUEST_TIMEOUT = 10.0
_SIZE = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>b|bytes?|k|kb|kib|m|mb|mib|g|gb|gib)?$")
_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# Requests in flight at once (see contracts.engine.parallel): enough to hide a far-away
# target's round trip, few enough for any API's per-client limits. 1 sends one at a time.
DEFAULT_CONCURRENCY = 8
# The embedded mock's default: it answers in microseconds from this very process, where
# lanes would only compete with it for the interpreter (measured ~15% slower with 8).
EMBEDDED_CONCURRENCY = 1
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class CheckConfig:
    """How one run of the conformance suite goes.

    ``base_url`` None means "start the embedded mock" (only the composition root can do
    that, see ``contracts.cli``); the engine itself always gets a URL and a token.
    """

    base_url: str | None = None
    token: str | None = None
    second_token: str | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = 0
    # Lanes of requests in flight at once, within the rate limit and budgets (``--concurrency``).
    concurrency: int = DEFAULT_CONCURRENCY
    # No --concurrency given for a URL: the engine runs one lane when the target answers
    # within NEAR_TARGET_SECONDS (a loopback mock: lanes would only compete for the CPU).
    auto_concurrency: bool = False
    checks: tuple[str, ...] = CHECK_NAMES
    junit_xml: Path | None = None
    report: Path | None = None
    html: Path | None = None
    spec_path: Path = SPEC_PATH
    # Every request to the target: this many seconds in all, this many bytes of answer read.
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_response_size: int = DEFAULT_MAX_BODY
    # Seconds of 429 waits in all before the run stops (exit 2): a target throttling for ever.
    max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT
    # True when the target is the embedded mock started by the composition root.
    embedded: bool = False
    # Safety (see contracts.safety.guard): no side effects at all; no phone-number writes.
    read_only: bool = False
    phone_writes: bool = True
    rate_limit: float | None = None  # requests per second, over every request of the run
    max_requests: int | None = None
    time_budget: float | None = None  # seconds
    # The run's id (its trunks are named sip-trunks-check-<run id>-...); None: a fresh one.
    run_id: str | None = None
    # ``--cleanup RUN_ID``: delete that run's leftovers instead of checking.
    cleanup: str | None = None
    # Where the run journals its ledger (``<dir>/<run id>.json``, see contracts.safety.journal);
    # None: in memory only, as for the embedded mock, which dies with the run anyway.
    state_dir: Path | None = None
    # ``--min-coverage``: a run that observes less of the documented responses (percent) fails.
    min_coverage: float | None = None

    @classmethod
    def from_options(
        cls,
        *,
        base_url: str | None = None,
        token: str | None = None,
        second_token: str | None = None,
        max_examples: int | None = None,
        seed: int | None = None,
        concurrency: int | None = None,
        checks: str | Iterable[str] | None = None,
        junit_xml: str | Path | None = None,
        report: str | Path | None = None,
        html: str | Path | None = None,
        min_coverage: str | float | None = None,
        read_only: bool = False,
        no_phone_writes: bool = False,
        rate_limit: str | float | None = None,
        max_requests: int | None = None,
        time_budget: str | float | None = None,
        request_timeout: str | float | None = None,
        max_response_size: str | int | None = None,
        max_rate_limit_wait: str | float | None = None,
        cleanup: str | None = None,
        state_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> CheckConfig:
        """Validate raw options (from the CLI or pytest), fill gaps from the environment.

        Raises ``UsageError`` with a message that says how to fix the problem.
        """
        environ = os.environ if environ is None else environ
        token = token if token else environ.get(TOKEN_ENV) or None
        second_token = second_token if second_token else environ.get(SECOND_TOKEN_ENV) or None
        if base_url is not None:
            base_url = _valid_base_url(base_url)
            if token is None:
                raise UsageError(f"--token is required with --base-url (or set {TOKEN_ENV})")
        if token is not None and token != token.strip():
            raise UsageError("--token must not start or end with spaces")
        if second_token is not None and second_token == token:
            raise UsageError("--second-token must be another organization's key than --token")
        if max_examples is None:
            max_examples = DEFAULT_MAX_EXAMPLES
        if max_examples < 1:
            raise UsageError(f"--max-examples must be 1 or more, got {max_examples}")
        if seed is None:
            seed = random.SystemRandom().randrange(MAX_SEED + 1)
        if not 0 <= seed <= MAX_SEED:
            raise UsageError(f"--seed must be between 0 and {MAX_SEED}, got {seed}")
        auto_concurrency = concurrency is None and base_url is not None
        if concurrency is None:
            concurrency = DEFAULT_CONCURRENCY if base_url is not None else EMBEDDED_CONCURRENCY
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise UsageError(
                f"--concurrency must be between 1 (one request at a time) and {MAX_CONCURRENCY}, "
                f"got {concurrency}"
            )
        if isinstance(rate_limit, str):
            rate_limit = parse_rate(rate_limit)
        if rate_limit is not None and rate_limit <= 0:
            raise UsageError(f"--rate-limit must be over 0 requests per second, got {rate_limit:g}")
        if max_requests is not None and max_requests < 1:
            raise UsageError(f"--max-requests must be 1 or more, got {max_requests}")
        if isinstance(time_budget, str):
            time_budget = parse_duration(time_budget)
        if time_budget is not None and time_budget <= 0:
            raise UsageError(f"--time-budget must be over 0 seconds, got {time_budget:g}")
        if min_coverage is not None:
            min_coverage = parse_percent(min_coverage)
        timeout = _seconds("--request-timeout", request_timeout, DEFAULT_REQUEST_TIMEOUT)
        rate_limit_wait = _seconds("--max-rate-limit-wait", max_rate_limit_wait, DEFAULT_MAX_RATE_LIMIT_WAIT)
        response_size = DEFAULT_MAX_BODY if max_response_size is None else parse_size(max_response_size)
        if cleanup is not None:
            cleanup = valid_run_id(cleanup)
            if read_only:
                raise UsageError("--cleanup deletes trunks; it cannot be --read-only")
        return cls(
            base_url=base_url,
            token=token,
            second_token=second_token,
            max_examples=max_examples,
            seed=seed,
            concurrency=concurrency,
            auto_concurrency=auto_concurrency,
            checks=_selected_checks(checks),
            junit_xml=Path(junit_xml) if junit_xml is not None else None,
            report=Path(report) if report is not None else None,
            html=Path(html) if html is not None else None,
            min_coverage=min_coverage,
            read_only=read_only,
            phone_writes=not no_phone_writes,
            rate_limit=float(rate_limit) if rate_limit is not None else None,
            max_requests=max_requests,
            time_budget=float(time_budget) if time_budget is not None else None,
            request_timeout=timeout,
            max_response_size=response_size,
            max_rate_limit_wait=rate_limit_wait,
            cleanup=cleanup,
            state_dir=default_state_dir(environ, state_dir) if base_url is not None else None,
        )

    def replace(self, **changes: object) -> CheckConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def needs_confirmation(self) -> bool:
        """Whether the run changes data on a host that is not this machine (``--yes`` or a prompt)."""
        writes = not self.read_only or self.cleanup is not None
        return writes and self.base_url is not None and not self.embedded and not is_loopback(self.base_url)

    @property
    def safety(self) -> tuple[str, ...]:
        """The safety options in force, for the start of the run's output."""
        options = []
        if self.read_only:
            options.append("read-only")
        elif not self.phone_writes:
            options.append("no phone-number writes")
        if self.rate_limit is not None:
            options.append(f"at most {self.rate_limit:g} requests/s")
        if self.max_requests is not None:
            options.append(f"at most {self.max_requests} requests")
        if self.time_budget is not None:
            options.append(f"time budget {self.time_budget:g} s")
        return tuple(options)

    def selects(self, check: str) -> bool:
        """Whether the run reports ``check``."""
        return check in self.checks

    @property
    def suites(self) -> tuple[str, ...]:
        """The suites that have at least one selected check, in run order."""
        wanted = {by_name(name).suite for name in self.checks}
        return tuple(suite for suite in SUITES if suite in wanted)

    @property
    def replay_command(self) -> str:
        """The command line that replays this run (tokens as environment variables)."""
        parts = ["sip-trunks check"]
        if self.base_url is not None and not self.embedded:
            parts.append(f"--base-url {self.base_url}")
        parts.append(f"--seed {self.seed}")
        if self.max_examples != DEFAULT_MAX_EXAMPLES:
            parts.append(f"--max-examples {self.max_examples}")
        default = EMBEDDED_CONCURRENCY if self.base_url is None or self.embedded else DEFAULT_CONCURRENCY
        if self.concurrency != default:  # the lanes' programs depend on their number
            parts.append(f"--concurrency {self.concurrency}")
        if self.checks != CHECK_NAMES:
            parts.append(f"--checks {','.join(self.checks)}")
        if self.read_only:
            parts.append("--read-only")
        elif not self.phone_writes:
            parts.append("--no-phone-writes")
        return " ".join(parts)


def default_state_dir(environ: Mapping[str, str], option: str | Path | None = None) -> Path:
    """Where run ledgers go: ``option``, else ``$SIP_TRUNKS_STATE_DIR``, else the XDG state home's.

    ``$XDG_STATE_HOME/sip-trunks-kit/runs``, ``~/.local/state/sip-trunks-kit/runs`` when it is
    unset or relative (the XDG spec says to ignore a relative one).
    """
    chosen = option if option not in (None, "") else environ.get(STATE_DIR_ENV) or None
    if chosen is not None:
        return Path(chosen).expanduser()
    xdg = environ.get("XDG_STATE_HOME") or ""
    if os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = environ.get("HOME")
        base = (Path(home) if home else Path.home()) / ".local" / "state"
    return base / "sip-trunks-kit" / "runs"


def parse_percent(value: str | float) -> float:
    """``--min-coverage``: a percentage from 0 to 100, as ``80``, ``72.5`` or ``80%``."""
    text = str(value).strip()
    try:
        percent = float(text.removesuffix("%"))
    except ValueError:
        percent = float("nan")
    if not 0 <= percent <= 100:  # NaN fails too
        raise UsageError(
            "--min-coverage must be a percentage of documented responses from 0 to 100 "
            f"(e.g. 80), got {text!r}"
        )
    return percent


def parse_size(value: str | int) -> int:
    """``--max-response-size``: bytes from ``8MiB``, ``512k``, ``1048576`` (binary units)."""
    match = _SIZE.match(str(value).strip().lower())
    if match is None:
        raise UsageError(f"--max-response-size must look like 8MiB, 512KiB or 1048576, got {value!r}")
    unit = (match["unit"] or "b")[0]
    size = int(float(match["amount"]) * _SIZE_UNITS.get(unit, 1))
    if size < 1024:
        raise UsageError(f"--max-response-size must be at least 1KiB, got {value!r}")
    return size


def _seconds(option: str, value: str | float | None, default: float) -> float:
    """A positive duration option (``30``, ``30s``, ``2m``)."""
    if value is None:
        return default
    seconds = parse_duration(value, option) if isinstance(value, str) else float(value)
    if not seconds > 0:
        raise UsageError(f"{option} must be over 0 seconds, got {value!r}")
    return seconds


def _valid_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--base-url must be an http(s) URL such as http://127.0.0.1:4010, got {value!r}")
    return value.rstrip("/")


def _selected_checks(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return CHECK_NAMES
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name in SUITES:  # a suite name selects all its checks
            wanted.update(check for check in CHECK_NAMES if by_name(check).suite == name)
        elif name in CHECK_NAMES:
            wanted.add(name)
        else:
            raise UsageError(
                f"unknown check {name!r} in --checks; use check or suite names "
                f"(see `sip-trunks check --list-checks`)"
            )
    if not wanted:
        raise UsageError("--checks selects no check; give check or suite names separated by commas")
    return tuple(name for name in CHECK_NAMES if name in wanted)
