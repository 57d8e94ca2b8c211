"""The HTML report: one self-contained page a reviewer opens (styles and script inline, nothing fetched).

It shows the verdict and the run's facts, each distinct failure with its reproduction, every
check by suite, the API coverage and the cleanup. Keys are already ``$TOKEN`` and passwords
``***`` in the events (``contracts.engine.context``); the target is shown without the user,
password or query a base URL may hold.
"""

from __future__ import annotations

import functools
import html
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from contracts.engine.catalog import SUITES
from contracts.engine.events import (
    CheckResult,
    CleanupFinished,
    Coverage,
    Event,
    Failure,
    RunFinished,
    RunStarted,
    SuiteFinished,
)
from contracts.safety.journal import kept_ledger_note, public_url

__all__ = ["HtmlReporter", "Page", "render"]

_VERDICT_CLASS = {"CONFORMANT": "pass", "NOT CONFORMANT": "fail", "COVERAGE TOO LOW": "warn"}


@functools.cache
def _asset(name: str) -> str:
    return resources.files("contracts.report").joinpath(name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Page:
    """What the page is made of: the run's first and last events, and what came between."""

    started: RunStarted | None
    finished: RunFinished
    suite_times: dict[str, float] = field(default_factory=dict)
    # Where the ledger of a run that left something behind is kept (``kept_ledger_note``).
    ledger_note: str | None = None


def render(page: Page) -> str:
    """The whole HTML document."""
    finished = page.finished
    verdict = finished.verdict
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',  # no favicon request when the page is served
        # Belt and braces: even a link slipped into the page could fetch nothing.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>sip-trunks check: {_e(verdict)} · seed {finished.seed}</title>",
        f"<style>\n{_asset('report.css')}</style>",
        "</head>",
        "<body>",
        _banner(page),
        "<main>",
        _facts(page),
        _failures(finished.failures, functools.partial(_scrub, page.started)),
        _checks(finished.results, finished.failures, page.suite_times),
        _coverage(finished),
        f"<footer>sip-trunks-kit · report written {_e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))}</footer>",
        "</main>",
        f"<script>\n{_asset('report.js')}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _banner(page: Page) -> str:
    finished = page.finished
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for result in finished.results:
        counts[result.status] += 1
    tally = (
        f"{len(finished.results)} checks: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped · {len(finished.failures)} distinct failures"
    )
    coverage = (
        f'<p class="coverage-line" id="coverage-summary">{_e(finished.coverage.line)}</p>'
        if finished.coverage is not None
        else ""
    )
    return (
        f'<header class="banner {_VERDICT_CLASS[finished.verdict]}"><div class="banner-inner">'
        f'<h1 id="verdict">{_e(finished.verdict)}</h1>'
        f'<p class="tally" id="tally">{_e(tally)}</p>{coverage}'
        '<nav class="toc"><a href="#run">run</a><a href="#failures">failures</a>'
        '<a href="#checks">checks</a><a href="#coverage">coverage</a></nav>'
        "</div></header>"
    )


def _command(text: str, label: str = "copy") -> str:
    """A command in a box with its copy button."""
    return (
        f'<div class="command"><pre><code>{_e(text)}</code></pre>'
        f'<button type="button" class="copy" title="Copy to the clipboard">{_e(label)}</button></div>'
    )


def _target(started: RunStarted) -> str:
    shown = public_url(started.target)
    return f"{shown} (embedded mock)" if started.embedded else shown


def _facts(page: Page) -> str:
    started, finished = page.started, page.finished
    facts: list[tuple[str, str]] = []
    if started is not None:
        facts.append(("target", _target(started)))
    facts += [("seed", str(finished.seed))]
    if started is not None and started.run_id:
        facts.append(("run id", started.run_id))
    facts += [("duration", f"{finished.elapsed:.1f} s"), ("requests", str(finished.requests))]
    if started is not None:
        facts.append(("examples", f"{started.max_examples} per operation"))
        if started.safety:
            facts.append(("safety", ", ".join(started.safety)))
    if finished.min_coverage is not None:
        facts.append(("--min-coverage", f"{finished.min_coverage:g}% of documented responses"))
    rows = "".join(f'<dt>{_e(name)}</dt><dd data-fact="{_e(name)}">{_e(value)}</dd>' for name, value in facts)
    out = ['<section id="run">', "<h2>The run</h2>", f'<dl class="facts">{rows}</dl>']
    if started is not None and started.replay:
        out += ["<h4>Replay the run (same seed, same requests; $TOKEN holds the API key)</h4>"]
        out.append(f'<div id="replay">{_command(_scrub(started, started.replay))}</div>')
    out += [f'<p class="note">note: {_e(note)}</p>' for note in finished.notes]
    out.append(_cleanup(finished.cleanup, page.ledger_note))
    out.append("</section>")
    return "\n".join(out)


def _scrub(started: RunStarted | None, text: str) -> str:
    """``text`` with the raw base URL (which may hold a user, password or query) in its public form."""
    if started is None or public_url(started.target) == started.target:
        return text
    return text.replace(started.target, public_url(started.target))


def _cleanup(cleanup: CleanupFinished | None, ledger_note: str | None) -> str:
    if cleanup is None:
        return ""
    dirty = "" if cleanup.clean else " dirty"
    note = f"<br>{_e(ledger_note)}" if ledger_note and not cleanup.clean else ""
    return f'<p class="cleanup{dirty}" id="cleanup">{_e(cleanup.line)}{note}</p>'


def _failures(failures: tuple[Failure, ...], scrub: Callable[[str], str]) -> str:
    out = ['<section id="failures">', f"<h2>Failures ({len(failures)} distinct)</h2>"]
    if not failures:
        out.append("<p>No check failed.</p>")
    for index, failure in enumerate(failures, 1):
        message = failure.message.split("\n", 1)
        title = message[0]
        details = f"\n{message[1]}" if len(message) > 1 else ""
        out.append(
            f'<article class="failure" id="failure-{index}" data-check="{_e(failure.check)}">'
            f"<h3>{index}. <code>{_e(failure.check)}</code></h3>"
            f'<p class="where">{_e(scrub(failure.operation))}</p>'
            f'<pre class="message"><strong>{_e(scrub(title))}</strong>{_e(scrub(details))}</pre>'
        )
        if failure.steps:
            out.append("<h4>Steps to reproduce ($TOKEN holds the API key; passwords shown as ***)</h4>")
            out.append('<ol class="steps">')
            out += [f"<li>{_command(scrub(step))}</li>" for step in failure.steps]
            out.append("</ol>")
        if failure.replay:
            out.append("<h4>Replay (the same requests, this check only)</h4>")
            out.append(f'<div class="replay">{_command(scrub(failure.replay))}</div>')
        out.append("</article>")
    out.append("</section>")
    return "\n".join(out)


def _checks(
    results: tuple[CheckResult, ...], failures: tuple[Failure, ...], suite_times: dict[str, float]
) -> str:
    first_failure: dict[str, int] = {}
    for index, failure in enumerate(failures, 1):
        first_failure.setdefault(failure.check, index)
    out = ['<section id="checks">', "<h2>Checks by suite</h2>"]
    for suite, description in SUITES.items():
        members = [result for result in results if result.suite == suite]
        if not members:
            continue
        counts = {
            status: sum(1 for r in members if r.status == status)
            for status in ("passed", "failed", "skipped")
        }
        elapsed = f" · {_seconds(suite_times[suite])}" if suite in suite_times else " · not run"
        out.append(
            f'<section class="suite" id="suite-{_e(suite)}" data-suite="{_e(suite)}">'
            f"<h3>{_e(suite)}</h3>"
            f'<p class="suite-summary">{_e(description)} — {counts["passed"]} passed, '
            f"{counts['failed']} failed, {counts['skipped']} skipped{_e(elapsed)}</p>"
            '<table class="checks"><thead><tr><th>check</th><th>status</th><th class="count">passed</th>'
            '<th class="count">failed</th><th>what it verifies</th></tr></thead><tbody>'
        )
        out += [_check_row(result, first_failure.get(result.name)) for result in members]
        out.append("</tbody></table></section>")
    out.append("</section>")
    return "\n".join(out)


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.1 else "<0.1 s"


def _check_row(result: CheckResult, failure_index: int | None) -> str:
    status = result.status
    badge = f'<span class="badge {status}">{status}</span>'
    if failure_index is not None:
        badge = f'<a href="#failure-{failure_index}">{badge}</a>'
    skipped = status == "skipped"
    passed, failed = ("&ndash;", "&ndash;") if skipped else (str(result.passed), str(result.failed))
    reason = f'<br><span class="reason">skipped: {_e(result.skip_reason)}</span>' if skipped else ""
    return (
        f'<tr class="check {status}" data-check="{_e(result.name)}" data-status="{status}">'
        f"<td><code>{_e(result.name)}</code></td><td>{badge}</td>"
        f'<td class="count">{passed}</td><td class="count">{failed}</td>'
        f"<td>{_e(result.description)}{reason}</td></tr>"
    )


def _statuses(keys: Iterable[str], kind: str, title: str) -> str:
    return "".join(f'<span class="status {kind}" title="{_e(title)}">{_e(key)}</span>' for key in keys)


def _coverage(finished: RunFinished) -> str:
    coverage: Coverage | None = finished.coverage
    out = ['<section id="coverage">', "<h2>API coverage</h2>"]
    if coverage is None:
        out += ["<p>No coverage was recorded.</p>", "</section>"]
        return "\n".join(out)
    out.append(f"<p>{_e(coverage.line)}</p>")
    if finished.min_coverage is not None:
        met = "" if finished.coverage_too_low else " met"
        outcome = "is under" if finished.coverage_too_low else "meets"
        out.append(
            f'<p class="gate{met}" id="coverage-gate">The run {outcome} --min-coverage '
            f"{finished.min_coverage:g}%: {coverage.observed} of {coverage.documented} documented "
            "responses observed.</p>"
        )
    out.append(
        '<p class="legend">Each documented response of an operation is '
        + _statuses(["200"], "observed", "observed")
        + " observed by the run or "
        + _statuses(["200"], "missing", "never observed")
        + " never observed; "
        + _statuses(["500"], "undocumented", "undocumented")
        + " is a status the target answered that the spec does not document for the operation. "
        "The run's own requests count (the first GET is the reachability probe); the cleanup's do not.</p>"
    )
    out.append(
        "<table><thead><tr><th>operation</th><th>documented responses</th>"
        '<th class="count">observed</th><th>undocumented statuses seen</th></tr></thead><tbody>'
    )
    for operation in coverage.operations:
        chips = "".join(
            _statuses(
                [key],
                "observed" if key in operation.observed else "missing",
                "observed" if key in operation.observed else "never observed",
            )
            for key in operation.documented
        )
        out.append(
            f'<tr data-operation="{_e(operation.operation)}"><td><code>{_e(operation.operation)}</code></td>'
            f"<td>{chips}</td>"
            f'<td class="count">{len(operation.observed)}/{len(operation.documented)}</td>'
            f"<td>{_statuses(operation.undocumented, 'undocumented', 'undocumented') or '&ndash;'}</td></tr>"
        )
    out += ["</tbody></table>", "</section>"]
    return "\n".join(out)


class HtmlReporter:
    """Writes the HTML report when the run finishes; keeps what it needs of the events before."""

    def __init__(self, path: Path, *, state_dir: Path | None = None) -> None:
        self.path = path
        self._state_dir = state_dir
        self._started: RunStarted | None = None
        self._suite_times: dict[str, float] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._started = event
        elif isinstance(event, SuiteFinished):
            self._suite_times[event.suite] = self._suite_times.get(event.suite, 0.0) + event.elapsed
        elif isinstance(event, RunFinished):
            cleanup = event.cleanup
            note = None
            if cleanup is not None and not cleanup.clean:
                note = kept_ledger_note(self._state_dir, cleanup.run_id)
            page = Page(self._started, event, dict(self._suite_times), note)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(render(page), encoding="utf-8")
