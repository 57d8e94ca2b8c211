"""Reporters: the console table and failures, JUnit and JSON files."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from contracts.engine.events import CheckResult, Coverage, Failure, OperationCoverage, RunFinished, RunStarted
from contracts.report.console import ConsoleReporter, render_failure, render_table
from contracts.report.json_report import JsonReporter
from contracts.report.junit import JUnitReporter

STARTED = RunStarted(target="http://127.0.0.1:4010", embedded=True, seed=42, max_examples=50, checks=())
RESULTS = (
    CheckResult("auth_required", "auth", "no key: 401", passed=35),
    CheckResult("password_never_returned", "secrets", "no password back", passed=9, failed=1),
    CheckResult("isolation_get", "isolation", "404 for others", skip_reason="needs a second organization"),
)
FAILURE = Failure(
    check="password_never_returned",
    operation="GET /sip-trunks/{id}",
    message="expected no password in the response, got the raw text of a password the run sent",
    steps=('curl -X GET -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4010/sip-trunks/1',),
    seed=42,
    replay="sip-trunks check --seed 42 --checks password_never_returned",
)
FINISHED = RunFinished(results=RESULTS, failures=(FAILURE,), elapsed=1.5, seed=42, requests=99)


def test_the_table_has_one_line_per_check_with_counts_and_skip_reasons() -> None:
    assert render_table(RESULTS).splitlines() == [
        "check                    suite      passed  failed  status",
        "auth_required            auth           35       0  passed",
        "password_never_returned  secrets         9       1  failed",
        "isolation_get            isolation       -       -  skipped: needs a second organization",
    ]


def test_a_failure_shows_what_was_expected_how_to_reproduce_and_replay() -> None:
    assert render_failure(1, FAILURE).splitlines() == [
        "1. password_never_returned — GET /sip-trunks/{id}",
        "   expected no password in the response, got the raw text of a password the run sent",
        "   reproduce ($TOKEN holds the API key):",
        '     curl -X GET -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4010/sip-trunks/1',
        "   replay: sip-trunks check --seed 42 --checks password_never_returned",
    ]


def test_the_console_writes_progress_to_err_and_results_to_out() -> None:
    out, err = io.StringIO(), io.StringIO()
    reporter = ConsoleReporter(out=out, err=err)
    reporter.handle(STARTED)
    reporter.handle(FINISHED)
    assert "sip-trunks check → http://127.0.0.1:4010 (embedded mock) · seed 42" in err.getvalue()
    assert "1 distinct failures" in out.getvalue()
    assert (
        out.getvalue()
        .rstrip()
        .endswith("NOT CONFORMANT: 3 checks, 1 passed, 1 failed, 1 skipped · 99 requests in 1.5 s · seed 42")
    )
    assert "sip-trunks check →" not in out.getvalue()


def test_junit_lists_every_check_with_its_outcome(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "check.xml"
    reporter = JUnitReporter(path)
    reporter.handle(STARTED)
    reporter.handle(FINISHED)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["auth_required", "password_never_returned", "isolation_get"]
    failure = cases["password_never_returned"].find("failure")
    assert failure is not None and failure.get("message") == FAILURE.message
    assert "curl -X GET" in (failure.text or "")
    skipped = cases["isolation_get"].find("skipped")
    assert skipped is not None and skipped.get("message") == "needs a second organization"
    assert cases["auth_required"].find("failure") is None


def test_the_json_report_has_the_checks_and_the_failures(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    reporter = JsonReporter(path)
    reporter.handle(STARTED)
    reporter.handle(FINISHED)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert (report["seed"], report["exit_code"], report["embedded"]) == (42, 1, True)
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("auth_required", "passed"),
        ("password_never_returned", "failed"),
        ("isolation_get", "skipped"),
    ]
    assert report["failures"][0]["steps"] == list(FAILURE.steps)


COVERAGE = Coverage(
    (
        OperationCoverage("GET /sip-trunks", ("200", "401", "503"), ("200", "401")),
        OperationCoverage("DELETE /sip-trunks/{id}", ("204", "404"), ("204",), ("500",)),
    )
)


def test_the_json_report_has_the_coverage_as_specified(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    reporter = JsonReporter(path)
    reporter.handle(STARTED)
    reporter.handle(replace(FINISHED, coverage=COVERAGE))
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["coverage"] == {
        "operations": [
            {
                "operation": "GET /sip-trunks",
                "documented": ["200", "401", "503"],
                "observed": ["200", "401"],
                "undocumented": [],
            },
            {
                "operation": "DELETE /sip-trunks/{id}",
                "documented": ["204", "404"],
                "observed": ["204"],
                "undocumented": ["500"],
            },
        ]
    }
    assert report["min_coverage"] is None


def test_the_console_summary_has_one_coverage_line_and_the_bar_lists_what_is_missing() -> None:
    passing = replace(FINISHED, failures=(), results=RESULTS[:1], coverage=COVERAGE, min_coverage=80)
    out = io.StringIO()
    ConsoleReporter(out=out, err=io.StringIO()).handle(passing)
    assert out.getvalue().splitlines()[-5:] == [
        "coverage: 2/2 operations, 3/5 documented responses (60%), undocumented: DELETE /sip-trunks/{id} 500",
        "coverage under --min-coverage 80%: 3/5 documented responses observed; never observed:",
        "  GET /sip-trunks          503",
        "  DELETE /sip-trunks/{id}  404",
        "COVERAGE TOO LOW: 1 checks, 1 passed, 0 failed, 0 skipped · 99 requests in 1.5 s · seed 42",
    ]


def test_junit_lists_the_coverage_bar_as_a_test_case_when_one_is_set(tmp_path: Path) -> None:
    path = tmp_path / "check.xml"
    for min_coverage, failed in ((None, None), (50, False), (80, True)):
        reporter = JUnitReporter(path)
        reporter.handle(replace(FINISHED, coverage=COVERAGE, min_coverage=min_coverage))
        suite = ET.parse(path).getroot().find("testsuite")
        assert suite is not None
        cases = {case.get("name"): case for case in suite.iter("testcase")}
        assert ("min_coverage" in cases) is (min_coverage is not None)
        if failed is not None:
            failure = cases["min_coverage"].find("failure")
            assert (failure is not None) is failed
            assert suite.get("failures") == ("2" if failed else "1")
            assert suite.get("tests") == "4"
