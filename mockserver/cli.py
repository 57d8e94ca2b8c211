"""``sip-trunks mock``: options → one ``MockConfig`` → one ``serve()`` call."""

from __future__ import annotations

import gc
import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mockserver.config import ADMIN_TOKEN_ENV, TOKENS_ENV, MockConfig
from mockserver.controls.faults import FaultSpec, Latency, parse_fault, parse_latency
from mockserver.controls.journal import DEFAULT_JOURNAL_SIZE, MAX_JOURNAL_SIZE
from mockserver.controls.rate_limit import RateLimit, parse_rate_limit
from mockserver.domain.store import DEFAULT_MAX_ORGANIZATIONS
from mockserver.http.connection_limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
)

if TYPE_CHECKING:
    from mockserver.log_output import BatchedLineWriter

__all__ = ["ConfigError", "banner", "mock"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# connexion imports starlette's test client at import time, which warns about httpx.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


class ConfigError(click.ClickException):
    """A bad option or seed file: one line on stderr, exit status 2."""

    exit_code = 2


class _Parsed(click.ParamType):
    """An option value read by one of the parsers of the config's types; its ValueError is a usage error."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


FAULT = _Parsed("fault", parse_fault)
LATENCY = _Parsed("duration", parse_latency)
RATE = _Parsed("rate", parse_rate_limit)


def banner(config: MockConfig) -> str:
    """What the mock prints on start: where it is, how to authenticate, a first request."""
    url = config.base_url
    journal = f"journal of the last {config.journal_size}" if config.journal_size else "journal off"
    if config.tokens:
        count = len(config.tokens)
        auth = f"Authorization: Bearer <key>, one of the {count} key{'s' if count > 1 else ''} given"
        example_token = "<key>"
    else:
        auth = "Authorization: Bearer <any non-empty key>; each key is its own organization"
        example_token = "demo-key"
    return "\n".join(
        [
            f"SIP trunks mock listening on {url}",
            *_exposure(config),
            f"  auth     {auth}",
            f"  try      curl -H 'Authorization: Bearer {example_token}' {url}/sip-trunks",
            f"  docs     {url}/ui/ (Swagger UI)",
            f"  spec     {url}/openapi.json",
            f"  admin    {url}/__admin/health, POST /__admin/reset, GET|PUT /__admin/state",
            *_admin_auth(config),
            f"  testing  /__admin/faults, /__admin/requests ({journal}), /__admin/rate-limit",
            *_active_controls(config),
            "Press Ctrl+C to stop.",
        ]
    )


def _exposure(config: MockConfig) -> list[str]:
    # Loud, and first: an admin API anyone on the network can call reads and replaces everything.
    if config.loopback_only or config.admin_token is not None:
        return []
    return [
        "",
        f"  !!! WARNING: the admin API (/__admin) has NO AUTHENTICATION, and {config.host} is not loopback:",
        "  !!! anyone who can reach this port can read every organization's state and API keys,",
        "  !!! replace it, inject faults and read the request journal. Start with --admin-token KEY",
        f"  !!! (better: ${ADMIN_TOKEN_ENV}, not visible in ps) or --host 127.0.0.1.",
        "",
    ]


def _admin_auth(config: MockConfig) -> list[str]:
    if config.admin_token is None:
        return []
    return ["           with Authorization: Bearer <the admin token> (all but /__admin/health)"]


def _active_controls(config: MockConfig) -> list[str]:
    # Said at start, so a limit or a fault left in a script does not go unnoticed.
    lines = []
    if config.rate_limit is not None:
        lines.append(f"  limit    {config.rate_limit} per organization (then 429 with Retry-After)")
    if config.startup_faults:
        faults = "; ".join(str(spec) for spec in config.startup_faults)
        lines.append(f"  faults   {faults} (seed {config.fault_seed})")
    return lines


def _access_log_writer(level: str) -> BatchedLineWriter | None:
    """The access lines' writer: on stderr in batches, as the other log lines; none above info."""
    if LOG_LEVELS.index(level) < LOG_LEVELS.index("info"):
        return None  # the access logger is not enabled for INFO: no lines, as through logging
    from mockserver.http.middleware.access_log import ACCESS_LOGGER
    from mockserver.log_output import BatchedLineWriter

    return BatchedLineWriter(sys.stderr, ACCESS_LOGGER)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # connexion logs every 4xx it answers as a warning; the access log already has the status.
    if level != "debug":
        logging.getLogger("connexion").setLevel(logging.ERROR)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=4010, show_default=True, help="Port to bind.")
@click.option(
    "--token",
    "tokens",
    metavar="KEY",
    multiple=True,
    help=f"Accept only this API key (repeatable). Default: ${TOKENS_ENV} (comma-separated), "
    "else any non-empty key.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="YAML or JSON file of organizations, trunks and phone numbers to start with.",
)
@click.option(
    "--max-trunks",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Trunks per organization before POST answers 409.",
)
@click.option(
    "--max-organizations",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_ORGANIZATIONS,
    show_default=True,
    help="Organizations (API keys) held at once; past it a new key evicts the one unused the longest, "
    "with its trunks. Organizations of --seed and --token keys are never evicted.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="Least severe log line written (stderr); the access log is at info.",
)
@click.option(
    "--validate-responses/--no-validate-responses",
    default=False,
    show_default=True,
    help="Check every response against the spec (slower; a mismatch is a 500).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="One line per request on stderr (written in batches, within 0.2 s; none above --log-level info).",
)
@click.option(
    "--latency",
    type=LATENCY,
    metavar="DURATION",
    help="Added to every request of the product API: 50ms, 1.5s, or a range 10-100ms.",
)
@click.option(
    "--fault",
    "faults",
    type=FAULT,
    multiple=True,
    metavar="SPEC",
    help="Inject a fault (repeatable): '[METHOD] [PATH] status=CODE|drop|latency=D [times=N] "
    "[fraction=F] [token=KEY] [retry_after=S]', e.g. 'POST /sip-trunks status=503 times=2'.",
)
@click.option(
    "--fault-seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the faults' draws (fraction=, latency ranges): the same seed, the same run.",
)
@click.option(
    "--rate-limit",
    type=RATE,
    metavar="N/PERIOD",
    help="Per organization, e.g. 10/s or 600/min: over it, 429 with Retry-After. Default: off.",
)
@click.option(
    "--journal-size",
    type=click.IntRange(0, MAX_JOURNAL_SIZE),
    default=DEFAULT_JOURNAL_SIZE,
    show_default=True,
    help="Requests kept by GET /__admin/requests; 0 turns the journal off.",
)
@click.option(
    "--admin-token",
    metavar="KEY",
    help=f"Require 'Authorization: Bearer KEY' on /__admin calls (/__admin/health stays open). "
    f"Default: ${ADMIN_TOKEN_ENV} (prefer it: a command line is visible to other users), else none: "
    "anyone who reaches the port can use the admin API.",
)
@click.option(
    "--max-header-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_HEADER_BYTES,
    show_default=True,
    metavar="BYTES",
    help="Largest request line and headers of one request; over it, 431 and the connection is closed.",
)
@click.option(
    "--max-headers",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_HEADERS,
    show_default=True,
    metavar="N",
    help="Most header fields in one request; over it, 431 and the connection is closed.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Time a request's headers have from its first byte; then 408 and the connection is closed.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_IDLE_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A connection with no request under way (before the first, between two) is closed after this.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    metavar="N",
    help="Open connections at once; at the cap, a new one closes the connection idle or still "
    "sending its request for the longest (503 if all are being answered). The open-file limit "
    "is raised to fit.",
)
def mock(
    host: str,
    port: int,
    tokens: tuple[str, ...],
    seed_file: Path | None,
    max_trunks: int,
    max_organizations: int,
    log_level: str,
    validate_responses: bool,
    access_log: bool,
    latency: Latency | None,
    faults: tuple[FaultSpec, ...],
    fault_seed: int,
    rate_limit: RateLimit | None,
    journal_size: int,
    admin_token: str | None,
    max_header_bytes: int,
    max_headers: int,
    header_timeout: float,
    idle_timeout: float,
    max_connections: int,
) -> None:
    """Start the stateful mock server of the SIP trunks API."""
    # Start-up builds objects that live as long as the process; no cyclic collection until
    # serve() settles the heap once the server is up (see mockserver.serve.settle_heap).
    gc.disable()
    from mockserver.seed import SeedError

    try:
        config = MockConfig.from_env(
            host=host,
            port=port,
            tokens=tokens,
            seed_file=seed_file,
            max_trunks=max_trunks,
            max_organizations=max_organizations,
            log_level=log_level,
            validate_responses=validate_responses,
            access_log=access_log,
            latency=latency,
            faults=faults,
            fault_seed=fault_seed,
            rate_limit=rate_limit,
            journal_size=journal_size,
            admin_token=admin_token,
            max_header_bytes=max_header_bytes,
            max_headers=max_headers,
            header_timeout=header_timeout,
            idle_timeout=idle_timeout,
            max_connections=max_connections,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    from mockserver.controls.faults import InvalidFault
    from mockserver.http.app import create_app
    from mockserver.serve import PortUnavailable, bind_check, serve

    access_lines = _access_log_writer(log_level) if config.access_log else None
    try:
        app = create_app(config, access_log=access_lines)
        config = bind_check(config)
    except (SeedError, PortUnavailable, InvalidFault) as exc:
        raise ConfigError(str(exc)) from None
    _configure_logging(log_level)
    click.echo(banner(config))
    serve(config, app, on_shutdown=None if access_lines is None else access_lines.close)
