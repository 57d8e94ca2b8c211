"""JUnit XML: one test case per check, so CI lists every check with its outcome."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from contracts.engine.events import Failure, RunFinished, RunStarted
from contracts.report import FileReporter
from contracts.report.console import render_coverage_gate

__all__ = ["JUnitReporter", "render"]


def render(started: RunStarted | None, finished: RunFinished) -> str:
    """The JUnit document of a finished run."""
    by_check: dict[str, list[Failure]] = {}
    for failure in finished.failures:
        by_check.setdefault(failure.check, []).append(failure)
    gated = finished.min_coverage is not None and finished.coverage is not None
    counts = {
        "tests": str(len(finished.results) + gated),
        "failures": str(
            sum(1 for result in finished.results if result.status == "failed") + finished.coverage_too_low
        ),
        "errors": "0",
        "skipped": str(sum(1 for result in finished.results if result.status == "skipped")),
        "time": f"{finished.elapsed:.3f}",
    }
    root = ET.Element("testsuites", {"name": "sip-trunks check", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "sip-trunks check", **counts})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="seed", value=str(finished.seed))
    if started is not None:
        ET.SubElement(properties, "property", name="target", value=started.target)
        ET.SubElement(properties, "property", name="embedded", value=str(started.embedded).lower())
    for result in finished.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"sip-trunks.{result.suite}", name=result.name, time="0"
        )
        ET.SubElement(
            case, "system-out"
        ).text = f"{result.description}\npassed {result.passed}, failed {result.failed}"
        if result.status == "failed":
            failures = by_check.get(result.name, [])
            title = failures[0].title if failures else f"{result.failed} failed evaluations"
            element = ET.SubElement(case, "failure", message=title, type="ContractViolation")
            element.text = "\n\n".join(_describe(failure) for failure in failures)
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", message=result.skip_reason or "not run")
    if gated and finished.coverage is not None:
        # --min-coverage: CI lists the bar as a test case too, so a red job shows why.
        case = ET.SubElement(
            suite, "testcase", classname="sip-trunks.coverage", name="min_coverage", time="0"
        )
        ET.SubElement(case, "system-out").text = finished.coverage.line
        if finished.coverage_too_low:
            gate = render_coverage_gate(finished)
            element = ET.SubElement(case, "failure", message=gate.splitlines()[0], type="CoverageTooLow")
            element.text = gate
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _describe(failure: Failure) -> str:
    lines = [f"{failure.operation}", failure.message, "", "reproduce:"]
    lines += [f"  {step}" for step in failure.steps]
    lines.append(f"replay: {failure.replay}")
    return "\n".join(lines)


class JUnitReporter(FileReporter):
    """Writes the JUnit file when the run finishes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, render)
