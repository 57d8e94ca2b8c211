"""The HTML report in a real browser: Debian's headless Chromium, driven by Selenium.

Two pages written by ``sip-trunks check --html``, one for the embedded mock and one for a
broken mutant, are opened from disk; the test reads the rendered DOM, clicks a copy button,
and asserts the console stayed silent and no request left for anything but the file itself.
The browser and its driver are the system's (``.ci/run`` installs them); nothing is
downloaded at run time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contracts.engine.catalog import CHECK_NAMES, SUITES
from contracts.secrets import SecretBook
from sip_trunks_openapi.cli import main

from .helpers import TOKEN_A, TOKEN_B
from .mutants.corpus import CORPUS, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MUTANT = "LeakPasswordOnCreate"
MUTANT_SEED = 1

# As root Chromium needs --no-sandbox; the rest keeps it from reaching for Google's services,
# and --host-resolver-rules makes sure no host name resolves, should anything try.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1280,1600",
)


def _missing_browser() -> str | None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        return f"{', '.join(missing)} not installed: apt-get install chromium chromium-driver (.ci/run does)"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing_browser()
    if reason is not None:
        if os.environ.get("CI"):  # CI installs the browser: its absence there is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    browser.set_page_load_timeout(30)
    browser.set_script_timeout(10)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``sip-trunks check --html`` on the embedded mock, and on a mutant that leaks passwords."""
    folder = tmp_path_factory.mktemp("pages")
    runner = CliRunner()
    embedded = folder / "embedded.html"
    done = runner.invoke(
        main,
        ["check", "--seed", "1", "--max-examples", "3", "--html", str(embedded),
         "--report", str(folder / "embedded.json")],
        env={},
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    broken = folder / "mutant.html"
    (planted,) = [planted for planted in CORPUS if planted.name == MUTANT]
    with serving(planted, (TOKEN_A, TOKEN_B)) as base_url:
        done = runner.invoke(
            main,
            ["check", "--base-url", base_url, "--token", TOKEN_A, "--second-token", TOKEN_B,
             "--seed", str(MUTANT_SEED), "--max-examples", "3",
             "--checks", "auth_required,password_never_returned,response_schema_conformance",
             "--html", str(broken), "--state-dir", str(folder / "runs")],
            env={},
        )  # fmt: skip
    assert done.exit_code == 1, done.output
    return {"embedded": embedded, "mutant": broken}


def _open(driver: Any, page: Path) -> list[dict[str, Any]]:
    """Load ``page`` from disk; returns the network requests the browser made for it."""
    driver.get("about:blank")
    driver.get_log("performance")  # drain what came before
    driver.get_log("browser")
    driver.get(page.as_uri())
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"])
    return requests


def _text(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def _rows(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _console(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def _only_the_file(requests: list[dict[str, Any]], page: Path) -> None:
    assert [request["url"] for request in requests] == [page.as_uri()]


def test_the_embedded_mock_report_renders_the_verdict_every_check_and_the_coverage(
    driver: Any, pages: dict[str, Path]
) -> None:
    requests = _open(driver, pages["embedded"])
    _only_the_file(requests, pages["embedded"])
    assert _text(driver, "#verdict") == "CONFORMANT"
    assert _text(driver, "#tally").startswith(
        f"{len(CHECK_NAMES)} checks: {len(CHECK_NAMES)} passed, 0 failed"
    )
    assert _text(driver, '[data-fact="target"]').endswith("(embedded mock)")
    assert _text(driver, '[data-fact="seed"]') == "1"
    assert _text(driver, "#replay code") == "sip-trunks check --seed 1 --max-examples 3"
    # Every check, in its suite, passed.
    suites = [row.get_attribute("data-suite") for row in _rows(driver, "section.suite")]
    assert suites == list(SUITES)
    checks = {
        row.get_attribute("data-check"): row.get_attribute("data-status") for row in _rows(driver, "tr.check")
    }
    assert checks == dict.fromkeys(CHECK_NAMES, "passed")
    assert _text(driver, "#failures h2") == "Failures (0 distinct)"
    # The coverage line at the top and the table below it: one row per operation.
    assert _text(driver, "#coverage-summary").startswith("coverage: 7/7 operations, ")
    operations = [row.get_attribute("data-operation") for row in _rows(driver, "#coverage tbody tr")]
    assert operations[0] == "GET /sip-trunks" and len(operations) == 7
    assert _text(driver, '#coverage tr[data-operation="POST /sip-trunks"] .status.observed') == "201"
    assert _text(driver, "#cleanup").endswith("nothing left behind")
    assert _console(driver) == []
    # The JSON report of the same run has the same coverage, in the shape.
    coverage = json.loads(pages["embedded"].with_suffix(".json").read_text(encoding="utf-8"))["coverage"]
    assert list(coverage) == ["operations"]
    assert [operation["operation"] for operation in coverage["operations"]] == operations
    for operation in coverage["operations"]:
        assert list(operation) == ["operation", "documented", "observed", "undocumented"]
        assert set(operation["observed"]) <= set(operation["documented"])
    observed = sum(len(operation["observed"]) for operation in coverage["operations"])
    documented = sum(len(operation["documented"]) for operation in coverage["operations"])
    assert f"{observed}/{documented} documented responses" in _text(driver, "#coverage-summary")


def test_the_mutant_report_shows_the_failure_with_its_reproduction_and_a_working_copy_button(
    driver: Any, pages: dict[str, Path]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    requests = _open(driver, pages["mutant"])
    _only_the_file(requests, pages["mutant"])
    assert _text(driver, "#verdict") == "NOT CONFORMANT"
    row = _rows(driver, 'tr.check[data-check="password_never_returned"]')[0]
    assert row.get_attribute("data-status") == "failed"
    # The failure: what was expected, what came back, the curl steps, the replay.
    failure = driver.find_element(By.CSS_SELECTOR, 'article.failure[data-check="password_never_returned"]')
    assert (
        "expected no password in the response, got " in failure.find_element(By.CSS_SELECTOR, ".message").text
    )
    step = failure.find_element(By.CSS_SELECTOR, "ol.steps li code").text
    assert step.startswith("curl -X POST -H 'Authorization: Bearer $TOKEN'") or step.startswith(
        'curl -X POST -H "Authorization: Bearer $TOKEN"'
    )
    assert '"password": "***"' in step
    replay = failure.find_element(By.CSS_SELECTOR, ".replay code").text
    assert replay.endswith("--checks password_never_returned")
    # Copy, through the clipboard API (with the permission a user grants by clicking).
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}
    )
    button = failure.find_element(By.CSS_SELECTOR, "ol.steps li button.copy")
    button.click()
    WebDriverWait(driver, 5).until(lambda _: button.text == "copied")
    pasted = driver.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('error: ' + e));"
    )
    assert pasted == step
    # The fallback, for browsers without the clipboard API: copied by selection, or selected for Ctrl+C.
    driver.execute_script("Object.defineProperty(navigator, 'clipboard', {value: undefined});")
    replay_button = failure.find_element(By.CSS_SELECTOR, ".replay button.copy")
    replay_button.click()
    WebDriverWait(driver, 5).until(lambda _: replay_button.text in ("copied", "press Ctrl+C"))
    if replay_button.text == "press Ctrl+C":
        assert driver.execute_script("return window.getSelection().toString();") == replay
    assert _console(driver) == []


def test_no_key_and_no_password_of_the_run_appear_in_the_mutant_report(
    driver: Any, pages: dict[str, Path]
) -> None:
    _open(driver, pages["mutant"])
    rendered = str(driver.page_source)
    written = pages["mutant"].read_text(encoding="utf-8")
    # Every password the run made starts with the book's marker; the keys are $TOKEN.
    marker = SecretBook.for_seed(MUTANT_SEED).marker
    for text in (rendered, written):
        assert marker not in text
        assert TOKEN_A not in text and TOKEN_B not in text
    assert "$TOKEN" in written
