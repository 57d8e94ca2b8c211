"""Stock schemathesis, all checks, against the running mock: it must find nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import MockConfig, running_mock
from sip_trunks_openapi import SPEC_PATH

TOKEN = "schemathesis-token"
CONFIG_FILE = Path(__file__).with_name("schemathesis") / "schemathesis.toml"


@pytest.fixture
def base_url() -> Iterator[str]:
    # Only TOKEN is accepted, so ignored_auth's made-up credentials get the 401 they should.
    config = MockConfig(tokens=(TOKEN,), validate_responses=True, access_log=False)
    with running_mock(config) as mock:
        yield mock.base_url


def test_stock_schemathesis_finds_nothing(base_url: str, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st), "--config-file", str(CONFIG_FILE), "--no-color", "run", str(SPEC_PATH),
        "--url", base_url,
        "--header", f"Authorization: Bearer {TOKEN}",
        "--checks", "all",
        "--max-examples", "50",
        # Derandomized (hypothesis' CI mode, so no example database): --seed is then unused.
        "--generation-deterministic",
        "--workers", "1",
        "--max-failures", "20",
        "--request-timeout", "10",
        "--report", "junit",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    # cwd=tmp_path: nothing in the checkout is picked up, nothing is written into it.
    result = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
