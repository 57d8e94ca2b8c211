"""The ``sip-trunks`` command: one group whose subcommands load only when used."""

from __future__ import annotations

import importlib
import sys

import click

from sip_trunks_openapi import SPEC_PATH

# Subcommands live with the package they drive; importing them lazily keeps
# ``sip-trunks --help`` fast and keeps the packages independent of each other.
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "mock": ("mockserver.cli", "mock", "Start the stateful mock server."),
    "check": ("contracts.cli", "check", "Check a target against the contract."),
    "proxy": ("contracts.proxy.cli", "proxy", "Check live traffic between a client and a server."),
}


class _LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_SUBCOMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS:
            module_name, attribute, _ = _SUBCOMMANDS[cmd_name]
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                return None
            command: click.Command = getattr(module, attribute)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sip-trunks-kit")
def main() -> None:
    """Contract testing and a stateful mock for the SIP trunks API.

    \b
      sip-trunks spec     validate the OpenAPI spec and print where it lives
      sip-trunks mock     start the mock server on http://127.0.0.1:4010
      sip-trunks check    check the mock, or a real deployment, against the spec
      sip-trunks proxy    check live traffic to a server, as a reverse proxy
    """


@main.command()
def spec() -> None:
    """Validate the OpenAPI spec with openapi-spec-validator and print its path."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    try:
        document, _ = read_from_filename(str(SPEC_PATH))
        validate(document)
    except Exception as exc:  # any reason the spec cannot be used ends the command
        click.echo(f"error: {SPEC_PATH} is not a valid OpenAPI document: {_one_line(exc)}", err=True)
        sys.exit(2)
    click.echo(f"{SPEC_PATH}")
    info = document["info"]
    click.echo(f"valid OpenAPI {document['openapi']} document: {info['title']} {info['version']}")


def _one_line(exc: Exception) -> str:
    """Say why a spec is invalid in one line: the reason and where in the document."""
    message = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0]
    path = "/".join(str(part) for part in getattr(exc, "path", ()))
    return f"{message} (at /{path})" if path else message
