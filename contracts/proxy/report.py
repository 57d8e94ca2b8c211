"""The files ``--report`` and ``--junit-xml`` write when the proxy stops: every violation it listed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts.proxy.catalog import CLIENT_CHECKS, SERVER_CHECKS, describe
from contracts.proxy.violations import Violation

__all__ = ["render_json", "render_junit", "write"]


def render_json(summary: dict[str, Any]) -> str:
    """The JSON report: what ``GET /__proxy/violations`` answers, plus the run's facts."""
    return json.dumps(summary, indent=2) + "\n"


def render_junit(violations: Iterable[Violation], *, elapsed: float, exchanges: int) -> str:
    """One test case per rule, client's then server's; a rule with violations fails with each listed."""
    by_check: dict[tuple[str, str], list[Violation]] = {}
    for violation in violations:
        by_check.setdefault((violation.side, violation.check), []).append(violation)
    rules = [("client", name) for name in CLIENT_CHECKS] + [("server", name) for name in SERVER_CHECKS]
    rules += sorted(set(by_check) - set(rules))
    failed = sum(1 for rule in rules if rule in by_check)
    counts = {"tests": str(len(rules)), "failures": str(failed), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "sip-trunks proxy", **counts, "time": f"{elapsed:.3f}"})
    suite = ET.SubElement(root, "testsuite", {"name": "sip-trunks proxy", **counts, "time": f"{elapsed:.3f}"})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="exchanges", value=str(exchanges))
    for side, name in rules:
        case = ET.SubElement(suite, "testcase", classname=f"sip-trunks-proxy.{side}", name=name, time="0")
        seen = by_check.get((side, name), [])
        ET.SubElement(case, "system-out").text = f"{_describe(name)}\nviolations: {len(seen)}"
        if seen:
            failure = ET.SubElement(case, "failure", message=seen[0].detail, type="ContractViolation")
            failure.text = "\n".join(f"{item.time} {item.line()}" for item in seen)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _describe(name: str) -> str:
    try:
        return describe(name)
    except KeyError:
        return name


def write(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
