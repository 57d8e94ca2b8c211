"""The HTML report as text: what it holds, that it fetches nothing, that it shows no secret.

How a browser renders it is tested in ``test_html_browser.py``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from contracts.engine.events import (
    CheckResult,
    CleanupFinished,
    Coverage,
    Failure,
    OperationCoverage,
    RunFinished,
    RunStarted,
    SuiteFinished,
)
from contracts.report.html import HtmlReporter, Page, render
from contracts.safety.journal import journal_path

TARGET = "http://127.0.0.1:4010"
STARTED = RunStarted(
    target=TARGET,
    embedded=False,
    seed=7,
    max_examples=5,
    checks=(),
    run_id="0badc0de",
    safety=("at most 10 requests/s",),
    replay=f"sip-trunks check --base-url {TARGET} --seed 7 --max-examples 5",
)
FAILURE = Failure(
    check="create_answers_trunk",
    operation="model: POST /sip-trunks",
    message="expected 201 with the trunk, got 200 OK <b>{}</b>\ndetails: <script>alert(1)</script>",
    steps=(
        f'curl -X POST --data-binary \'{{"password": "***"}}\' {TARGET}/sip-trunks',
        f'curl -X GET -H "Authorization: Bearer $TOKEN" {TARGET}/sip-trunks',
    ),
    seed=7,
    replay=f"sip-trunks check --base-url {TARGET} --seed 7 --checks create_answers_trunk",
)
RESULTS = (
    CheckResult("auth_required", "auth", "no key: 401", skip_reason="the target is a sip-trunks mock"),
    CheckResult("create_answers_trunk", "model", "a valid POST is 201", passed=3, failed=1),
    CheckResult("get_matches_create", "model", "GET returns what the create returned", passed=12),
)
COVERAGE = Coverage(
    (
        OperationCoverage("GET /sip-trunks", ("200", "401"), ("200",)),
        OperationCoverage("POST /sip-trunks", ("201", "400"), ("400",), ("200",)),
    )
)
CLEANUP = CleanupFinished(run_id="0badc0de", deleted=("t1",), left=("trunk t2 (503 Service Unavailable)",))
FINISHED = RunFinished(
    results=RESULTS,
    failures=(FAILURE,),
    elapsed=3.25,
    seed=7,
    requests=321,
    notes=("stopped early: --max-requests 321 reached",),
    cleanup=CLEANUP,
    coverage=COVERAGE,
    min_coverage=40,
)


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <style> and <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline[self._in] = self.inline.get(self._in, "") + data


def _page(**changes: object) -> str:
    return render(
        Page(STARTED, replace(FINISHED, **changes), {"auth": 0.04, "model": 2.5}, "ledger kept in X")
    )


def test_the_page_holds_the_verdict_the_run_the_failures_the_checks_the_coverage_and_the_cleanup() -> None:
    page = _page()
    assert '<h1 id="verdict">NOT CONFORMANT</h1>' in page
    assert "3 checks: 1 passed, 1 failed, 1 skipped · 1 distinct failures" in page
    for fact, value in [
        ("target", TARGET),
        ("seed", "7"),
        ("run id", "0badc0de"),
        ("duration", "3.2 s"),
        ("requests", "321"),
        ("safety", "at most 10 requests/s"),
        ("--min-coverage", "40% of documented responses"),
    ]:
        assert f'<dd data-fact="{fact}">{value}</dd>' in page
    assert f"<code>sip-trunks check --base-url {TARGET} --seed 7 --max-examples 5</code>" in page
    assert "note: stopped early: --max-requests 321 reached" in page
    # The failure: what was expected and what came back, each step and the replay with a copy button.
    failure = page[page.index('<article class="failure" id="failure-1"') : page.index("</article>")]
    assert "<strong>expected 201 with the trunk, got 200 OK &lt;b&gt;{}&lt;/b&gt;</strong>" in failure
    assert failure.count('<button type="button" class="copy"') == 3
    assert "--checks create_answers_trunk</code>" in failure
    # Checks by suite, with counts, time, skip reasons and a link to the failure.
    assert (
        "requests without valid credentials are refused — 0 passed, 0 failed, 1 skipped · &lt;0.1 s" in page
    )
    assert "1 passed, 1 failed, 0 skipped · 2.5 s" in page
    assert "skipped: the target is a sip-trunks mock" in page
    assert '<a href="#failure-1"><span class="badge failed">failed</span></a>' in page
    # Coverage: the summary at the top, the table, the bar.
    assert (
        '<p class="coverage-line" id="coverage-summary">coverage: 2/2 operations, '
        "2/4 documented responses (50%), undocumented: POST /sip-trunks 200</p>"
    ) in page
    assert '<tr data-operation="POST /sip-trunks">' in page
    assert '<span class="status missing" title="never observed">201</span>' in page
    assert '<span class="status undocumented" title="undocumented">200</span>' in page
    assert "The run meets --min-coverage 40%: 2 of 4 documented responses observed." in page
    # The cleanup: what was left, and where the ledger is.
    assert '<p class="cleanup dirty" id="cleanup">cleanup of run 0badc0de: deleted 1 trunk' in page
    assert "NOT cleaned up: trunk t2 (503 Service Unavailable)" in page and "<br>ledger kept in X" in page


def test_text_from_the_target_is_escaped_never_markup() -> None:
    page = _page()
    assert "<script>alert(1)</script>" not in page
    assert "details: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _Tags()
    parsed.feed(page)
    assert [tag for tag, _ in parsed.tags if tag == "script"] == ["script"]  # the page's own only


def test_the_page_is_self_contained_and_references_nothing_outside() -> None:
    page = _page()
    parsed = _Tags()
    parsed.feed(page)
    references = [
        (tag, name, value)
        for tag, attrs in parsed.tags
        for name, value in attrs.items()
        if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None
    ]
    # In-page anchors and an empty data: icon (which stops browsers asking for /favicon.ico).
    assert all(value.startswith("#") or value == "data:," for _, _, value in references), references
    assert ("link", "href", "data:,") in references
    assert not any(tag in ("iframe", "img", "object", "embed", "base") for tag, _ in parsed.tags)
    for text in parsed.inline.values():
        assert "url(" not in text and "@import" not in text and "fetch(" not in text
        assert "XMLHttpRequest" not in text and "http" not in text
    # Every URL on the page is the target's, as text (in commands), never a link.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {TARGET, f"{TARGET}/sip-trunks"}
    # A content security policy forbids any fetch, should anything slip in.
    assert "default-src 'none'" in page


def test_the_target_is_shown_without_the_credentials_a_base_url_may_hold() -> None:
    secret_url = "https://user:pa55word@api.example.com/v1?api_key=k3y"
    started = replace(STARTED, target=secret_url, replay=f"sip-trunks check --base-url {secret_url} --seed 7")
    failure = replace(FAILURE, steps=(f"curl {secret_url}/sip-trunks",), replay=f"x --base-url {secret_url}")
    page = render(Page(started, replace(FINISHED, failures=(failure,))))
    assert "pa55word" not in page and "k3y" not in page and "user:" not in page
    assert '<dd data-fact="target">https://api.example.com/v1</dd>' in page
    assert "curl https://api.example.com/v1/sip-trunks" in page


def test_a_conformant_run_and_one_under_the_bar() -> None:
    conformant = _page(failures=(), results=RESULTS[2:], min_coverage=None, cleanup=None)
    assert '<header class="banner pass">' in conformant and '<h1 id="verdict">CONFORMANT</h1>' in conformant
    assert "<p>No check failed.</p>" in conformant and 'id="coverage-gate"' not in conformant
    too_low = _page(failures=(), results=RESULTS[2:], min_coverage=75)
    assert '<header class="banner warn">' in too_low and "COVERAGE TOO LOW" in too_low
    assert "The run is under --min-coverage 75%: 2 of 4 documented responses observed." in too_low


def test_the_reporter_writes_the_page_when_the_run_finishes(tmp_path: Path) -> None:
    state_dir = tmp_path / "runs"
    journal_path(state_dir, "0badc0de").parent.mkdir(parents=True)
    journal_path(state_dir, "0badc0de").write_text("{}", encoding="utf-8")
    path = tmp_path / "out" / "report.html"
    reporter = HtmlReporter(path, state_dir=state_dir)
    reporter.handle(STARTED)
    reporter.handle(SuiteFinished("model", 1.25))
    assert not path.exists()
    reporter.handle(FINISHED)
    page = path.read_text(encoding="utf-8")
    assert "1 passed, 1 failed, 0 skipped · 1.2 s" in page
    assert f"the ledger of run 0badc0de is kept in {journal_path(state_dir, '0badc0de')}" in page
    assert "requests without valid credentials are refused — 0 passed, 0 failed, 1 skipped · not run" in page
