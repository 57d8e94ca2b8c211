"""The two forms of the suite, end to end: ``sip-trunks check`` and ``pytest contracts``."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from contracts.engine.catalog import CHECK_NAMES
from sip_trunks_openapi.cli import main

from .helpers import TOKEN_A, TOKEN_B
from .mutants.leaks import LeakPasswordOnGet

ROOT = Path(__file__).resolve().parents[2]
SIP_TRUNKS = Path(sys.executable).with_name("sip-trunks")
# Keep the children's environment free of keys a developer may have exported.
ENV = {key: value for key, value in os.environ.items() if not key.startswith("SIP_TRUNKS_")}


def test_a_default_run_against_the_embedded_mock_passes_every_check(tmp_path: Path) -> None:
    junit = tmp_path / "check.xml"
    # Bounded, not timed: how long a default run takes is for the benchmarks to measure.
    done = subprocess.run(
        [str(SIP_TRUNKS), "check", "--seed", "2026", "--junit-xml", str(junit)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    *_, summary, cleaned = done.stdout.rstrip().splitlines()
    assert summary.startswith(f"CONFORMANT: {len(CHECK_NAMES)} checks,")
    assert cleaned.startswith("cleanup of run ") and cleaned.endswith("; nothing left behind")
    assert "(embedded mock)" in done.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert [case.get("name") for case in suite.iter("testcase")] == list(CHECK_NAMES)
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "0")


def test_the_pytest_form_checks_the_embedded_mock_without_options() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "contracts",
            "-q",
            "-k",
            "auth_required or isolation",
            "--seed",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    assert "; nothing left behind" in done.stdout  # the cleanup line, as the command ends


def test_both_forms_find_the_same_planted_defect(serve: Callable[..., str], state_dir: Path) -> None:
    base_url = serve(LeakPasswordOnGet)
    target = ["--base-url", base_url, "--token", TOKEN_A, "--second-token", TOKEN_B, "--seed", "11"]

    command = CliRunner().invoke(main, ["check", *target, "--checks", "secrets"], env={})
    assert command.exit_code == 1
    assert "1. password_never_returned — " in command.stdout

    form = subprocess.run(
        [sys.executable, "-m", "pytest", "contracts", "-q", "-k", "password_never_returned", *target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**ENV, "SIP_TRUNKS_STATE_DIR": str(state_dir)},  # a run against a URL keeps its ledger
        timeout=120,
    )
    assert form.returncode == 1, form.stdout + form.stderr
    assert "FAILED contracts/test_conformance.py::test_check[password_never_returned]" in form.stdout
    assert "expected no password in the response" in form.stdout
    assert TOKEN_A not in form.stdout + command.stdout


def test_the_pytest_form_ends_with_the_cleanup_line_and_names_what_it_left(
    serve: Callable[..., str], state_dir: Path
) -> None:
    from mockserver.client import AdminClient

    base_url = serve()
    with AdminClient(base_url) as admin:
        # Organization A's DELETEs fail: the isolation suite's own delete, then every cleanup attempt.
        admin.inject(f"DELETE /sip-trunks/{{id}} status=503 token={TOKEN_A}")
        form = subprocess.run(
            [sys.executable, "-m", "pytest", "contracts", "-q", "-k", "isolation_list",
             "--base-url", base_url, "--token", TOKEN_A, "--second-token", TOKEN_B, "--seed", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**ENV, "SIP_TRUNKS_STATE_DIR": str(state_dir)},
        )  # fmt: skip
    assert form.returncode == 0, form.stdout + form.stderr  # the check passed; the cleanup did not finish
    (journal,) = state_dir.glob("*.json")
    run_id = journal.stem
    assert "sip-trunks check cleanup" in form.stdout
    assert f"cleanup of run {run_id}: deleted 0 trunks, restored 0 phone-number links; NOT cleaned up: " in (
        form.stdout
    )
    assert f"the ledger of run {run_id} is kept in {journal}" in form.stdout
    assert TOKEN_A not in form.stdout + form.stderr


def test_the_pytest_form_has_the_coverage_bar_and_the_html_report(
    serve: Callable[..., str], state_dir: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    form = subprocess.run(
        [sys.executable, "-m", "pytest", "contracts", "-q", "-k", "auth_required or api_coverage",
         "--base-url", serve(), "--token", TOKEN_A, "--seed", "1", "--min-coverage", "50",
         "--check-html", str(page)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**ENV, "SIP_TRUNKS_STATE_DIR": str(state_dir)},
    )  # fmt: skip
    assert form.returncode == 1, form.stdout + form.stderr
    assert "FAILED contracts/test_conformance.py::test_api_coverage" in form.stdout
    assert (
        "coverage under --min-coverage 50%: 9/45 documented responses observed; never observed:"
        in form.stdout
    )
    assert "sip-trunks check coverage" in form.stdout
    assert "coverage: 7/7 operations, 9/45 documented responses (20%)" in form.stdout
    assert "1 failed, 1 passed" in form.stdout
    html = page.read_text(encoding="utf-8")
    assert '<h1 id="verdict">COVERAGE TOO LOW</h1>' in html
    assert TOKEN_A not in form.stdout + form.stderr + html


def test_the_pytest_form_refuses_a_coverage_bar_that_is_no_percentage() -> None:
    form = subprocess.run(
        [sys.executable, "-m", "pytest", "contracts", "-q", "--min-coverage", "120"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=ENV,
    )  # fmt: skip
    assert form.returncode == 4  # pytest's usage error
    assert "--min-coverage must be a percentage of documented responses from 0 to 100" in form.stderr
