"""The terminal: progress on stderr while running, then the table and each failure on stdout."""

from __future__ import annotations

import time
from typing import TextIO

from contracts.engine.events import (
    CheckResult,
    CleanupFinished,
    Event,
    Failure,
    Progress,
    RunFinished,
    RunStarted,
    SuiteFinished,
    SuiteStarted,
)

__all__ = ["ConsoleReporter", "render_coverage_gate", "render_failure", "render_summary", "render_table"]


def render_table(results: tuple[CheckResult, ...]) -> str:
    """One line per check: name, suite, passed and failed counts, status (with the skip reason)."""
    width = max([len(result.name) for result in results] + [5])
    suites = max([len(result.suite) for result in results] + [9])
    lines = [f"{'check':<{width}}  {'suite':<{suites}}  {'passed':>6}  {'failed':>6}  status"]
    for result in results:
        status = result.status
        if status == "skipped":
            status = f"skipped: {result.skip_reason}"
            passed = failed = "-"
        else:
            passed, failed = str(result.passed), str(result.failed)
        lines.append(f"{result.name:<{width}}  {result.suite:<{suites}}  {passed:>6}  {failed:>6}  {status}")
    return "\n".join(lines)


def render_failure(index: int, failure: Failure) -> str:
    """A numbered failure: check and where, the message, the curl steps and the replay command."""
    lines = [f"{index}. {failure.check} — {failure.operation}"]
    lines += [f"   {line}" for line in failure.message.splitlines()]
    if failure.steps:
        lines.append("   reproduce ($TOKEN holds the API key):")
        lines += [f"     {step}" for step in failure.steps]
    lines.append(f"   replay: {failure.replay}")
    return "\n".join(lines)


def render_coverage_gate(finished: RunFinished) -> str:
    """Under ``--min-coverage``: the bar, and every documented response never observed; else ``""``."""
    coverage = finished.coverage
    if not finished.coverage_too_low or coverage is None:
        return ""
    missing: dict[str, list[str]] = {}
    for operation, status in coverage.missing:
        missing.setdefault(operation, []).append(status)
    width = max(len(operation) for operation in missing)
    lines = [
        f"coverage under --min-coverage {finished.min_coverage:g}%: "
        f"{coverage.observed}/{coverage.documented} documented responses observed; never observed:"
    ]
    lines += [f"  {operation:<{width}}  {' '.join(statuses)}" for operation, statuses in missing.items()]
    return "\n".join(lines)


def render_summary(finished: RunFinished) -> str:
    """Notes, the coverage line (and the coverage bar's verdict), then the verdict line."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for result in finished.results:
        counts[result.status] += 1
    lines = [f"note: {note}" for note in finished.notes]
    if finished.coverage is not None:
        lines.append(finished.coverage.line)
    gate = render_coverage_gate(finished)
    if gate:
        lines.append(gate)
    lines.append(
        f"{finished.verdict}: {len(finished.results)} checks, {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped · {finished.requests} requests"
        f" in {finished.elapsed:.1f} s · seed {finished.seed}"
    )
    return "\n".join(lines)


class ConsoleReporter:
    """Human output. ``err`` gets progress (it may be a terminal), ``out`` gets the results.

    The last line on ``out`` is always the cleanup's: after the summary, or alone when the
    run was interrupted.
    """

    def __init__(self, out: TextIO, err: TextIO, *, verbose: bool = False) -> None:
        self.out = out
        self.err = err
        self.verbose = verbose
        # On a terminal, per-operation progress rewrites one line; in logs it shows with -v only.
        self._live = not verbose and err.isatty()
        self._pending = False
        self._started = time.monotonic()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            where = f"{event.target} (embedded mock)" if event.embedded else event.target
            budget = f"{event.max_examples} examples per operation"
            extras = "".join(f" · {option}" for option in event.safety)
            run = f" · run {event.run_id}" if event.run_id else ""
            self._progress(f"sip-trunks check → {where} · seed {event.seed} · {budget}{run}{extras}")
        elif isinstance(event, SuiteStarted):
            self._progress(f"[{event.suite}] {event.description}")
        elif isinstance(event, Progress):
            line = f"[{event.suite}]   {event.message.strip()}"
            if not event.message.startswith(" ") or self.verbose:
                self._progress(line)
            elif self._live:
                self._progress(line, transient=True)
        elif isinstance(event, SuiteFinished):
            self._progress(f"[{event.suite}] done in {event.elapsed:.1f} s")
        elif isinstance(event, CleanupFinished):
            if event.interrupted or event.sweep:  # no summary follows
                self._clear()
                print(event.line, file=self.out, flush=True)
            else:
                self._progress("cleanup done")
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _progress(self, line: str, *, transient: bool = False) -> None:
        elapsed = time.monotonic() - self._started
        text = f"{elapsed:6.1f}s {line}"
        if self._pending:  # replace the transient line
            self.err.write("\r\033[K")
        self.err.write(text if transient else text + "\n")
        self.err.flush()
        self._pending = transient

    def _clear(self) -> None:
        if self._pending:
            self.err.write("\r\033[K")
            self._pending = False

    def _finish(self, finished: RunFinished) -> None:
        self._clear()
        print(file=self.out)
        print(render_table(finished.results), file=self.out)
        if finished.failures:
            print(f"\n{len(finished.failures)} distinct failures:\n", file=self.out)
            for index, failure in enumerate(finished.failures, 1):
                print(render_failure(index, failure), file=self.out)
                print(file=self.out)
        else:
            print(file=self.out)
        print(render_summary(finished), file=self.out, flush=finished.cleanup is None)
        if finished.cleanup is not None:
            print(finished.cleanup.line, file=self.out, flush=True)
