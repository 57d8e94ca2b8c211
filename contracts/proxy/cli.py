"""``sip-trunks proxy``: options → ``ProxyConfig`` → bind → banner → ``serve`` until stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from contracts.errors import ContractsError, UsageError
from contracts.proxy.config import DEFAULT_HOST, DEFAULT_PORT, ProxyConfig

__all__ = ["banner", "proxy"]


def banner(config: ProxyConfig) -> str:
    """What the proxy prints on stdout once it listens."""
    mode = (
        "enforcing: requests that break the contract and leaking answers are refused"
        if config.enforce
        else ("checking only: nothing is changed in flight")
    )
    lines = [
        f"SIP trunks proxy listening on {config.base_url} -> {config.upstream}",
        f"  mode        {mode}",
        *([f"  trust       {config.upstream_ca} only (--upstream-ca)"] if config.upstream_ca else []),
        f"  violations  one line each on stderr, and GET|DELETE {config.base_url}/__proxy/violations",
        f"  health      {config.base_url}/__proxy/health",
    ]
    reports = [str(path) for path in (config.report, config.junit_xml) if path is not None]
    if reports:
        lines.append(f"  reports     written on stop: {', '.join(reports)}")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--upstream", required=True, help="Base URL of the server to check, e.g. http://127.0.0.1:4010."
)
@click.option(
    "--upstream-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM CA bundle to verify an https:// upstream against, instead of the system's trust store.",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option(
    "--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port to bind (0: any free one)."
)
@click.option(
    "--enforce",
    is_flag=True,
    help="Refuse requests that break the contract (400/401/404/405/413/415, not forwarded) and replace "
    "answers that leak a password or another key's trunks by a 502 problem.",
)
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), help="Write every violation as JSON on stop."
)
@click.option(
    "--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML file on stop."
)
def proxy(
    upstream: str,
    upstream_ca: Path | None,
    host: str,
    port: int,
    enforce: bool,
    report: Path | None,
    junit_xml: Path | None,
) -> None:
    """Put a validating proxy in front of a server: each exchange is checked against the contract.

    \b
    Client side: the request is an operation of the spec, with Bearer credentials and a valid body.
    Server side: the answer is documented (status, headers, body), and agrees with what the proxy
    saw before, per API key: created trunks read back the same, deleted ones are gone, no other
    key's trunks, and no password a client sent ever comes back.
    """
    from contracts.proxy.serve import bind, serve

    try:
        config = ProxyConfig.from_options(
            upstream=upstream,
            upstream_ca=upstream_ca,
            host=host,
            port=port,
            enforce=enforce,
            report=report,
            junit_xml=junit_xml,
        )
        try:
            sock, config = bind(config)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {config.host}:{config.port}: {exc.strerror}; pick another --port"
            ) from exc
    except ContractsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(banner(config))
    serve(config, sock)
