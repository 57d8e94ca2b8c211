"""``sip-trunks`` root command and its ``spec`` subcommand."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import sip_trunks_openapi
from sip_trunks_openapi.cli import main


def test_spec_prints_where_the_spec_lives_and_that_it_is_valid() -> None:
    result = CliRunner().invoke(main, ["spec"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        str(sip_trunks_openapi.SPEC_PATH),
        "valid OpenAPI 3.0.3 document: SIP trunks API 1.0.0",
    ]


def test_spec_refuses_an_invalid_document_with_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "sip-trunks.yaml"
    broken.write_text("openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n", encoding="utf-8")
    monkeypatch.setattr("sip_trunks_openapi.cli.SPEC_PATH", broken)
    result = CliRunner().invoke(main, ["spec"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"error: {broken} is not a valid OpenAPI document:")


def test_help_lists_the_subcommands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("spec", "mock", "check"):
        assert f"sip-trunks {name}" in result.output
