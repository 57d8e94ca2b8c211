"""``sip-trunks mock``: options → one ``MockConfig`` → one ``serve()`` call."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import click

from mockserver.config import TOKENS_ENV, MockConfig

__all__ = ["ConfigError", "banner", "mock"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# connexion imports starlette's test client at import time, which warns about httpx.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


class ConfigError(click.ClickException):
    """A bad option or seed file: one line on stderr, exit status 2."""

    exit_code = 2


def banner(config: MockConfig) -> str:
    """What the mock prints on start: where it is, how to authenticate, a first request."""
    url = config.base_url
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
            f"  auth     {auth}",
            f"  try      curl -H 'Authorization: Bearer {example_token}' {url}/sip-trunks",
            f"  docs     {url}/ui/ (Swagger UI)",
            f"  spec     {url}/openapi.json",
            f"  admin    {url}/__admin/health, POST /__admin/reset, GET|PUT /__admin/state",
            "Press Ctrl+C to stop.",
        ]
    )


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
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
@click.option(
    "--validate-responses/--no-validate-responses",
    default=False,
    show_default=True,
    help="Check every response against the spec (slower; a mismatch is a 500).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="One line per request.")
def mock(
    host: str,
    port: int,
    tokens: tuple[str, ...],
    seed_file: Path | None,
    max_trunks: int,
    log_level: str,
    validate_responses: bool,
    access_log: bool,
) -> None:
    """Start the stateful mock server of the SIP trunks API."""
    from mockserver.seed import SeedError

    try:
        config = MockConfig.from_env(
            host=host,
            port=port,
            tokens=tokens,
            seed_file=seed_file,
            max_trunks=max_trunks,
            log_level=log_level,
            validate_responses=validate_responses,
            access_log=access_log,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    from mockserver.app import create_app
    from mockserver.serve import PortUnavailable, bind_check, serve

    try:
        app = create_app(config)
        config = bind_check(config)
    except (SeedError, PortUnavailable) as exc:
        raise ConfigError(str(exc)) from None
    _configure_logging(log_level)
    click.echo(banner(config))
    serve(config, app)
