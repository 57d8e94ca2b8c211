"""Turn measured rows into the benchmark's table, ratios, goal lines and JSON."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.loadgen import LoadResult

BASELINES = ("connexion", "starlette", "prism")
"""Servers that each row's throughput is compared with, as `vs name` columns."""


@dataclass(frozen=True)
class Row:
    """One server under one scenario."""

    server: str
    scenario: str
    load: LoadResult
    startup_s: float
    """The median of `startups_s`."""
    rss_mib: float
    startups_s: tuple[float, ...] = ()
    """Every start-up measured, in seconds from spawn to the first 200."""
    cpu_us: float | None = None
    """CPU time of the server's processes per request answered, in microseconds."""
    redis_cpu_us: float | None = None
    """CPU time of the redis-server behind it per request, for the Redis-backed rows."""


def machine() -> dict[str, str]:
    """Where the figures were taken: CPU count and model, kernel, Python."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def ratio(rows: list[Row], row: Row, baseline: str) -> float | None:
    """`row`'s req/s divided by the baseline's in the same scenario, or None when the baseline did not run."""
    for other in rows:
        if other.server == baseline and other.scenario == row.scenario and other.load.rps:
            return row.load.rps / other.load.rps
    return None


def _cells(rows: list[Row], row: Row) -> list[str]:
    """The printed cells of one row."""
    ratios = [ratio(rows, row, name) for name in BASELINES]
    return [
        row.server,
        row.scenario,
        f"{row.load.rps:,.0f}",
        f"{row.load.p50_ms:.2f}",
        f"{row.load.p99_ms:.2f}",
        str(row.load.non_2xx + row.load.socket_errors),
        f"{row.startup_s:.2f}",
        f"{row.rss_mib:.0f}",
        _cpu(row),
        *(
            "-" if value is None or name == row.server else f"{value:.2f}"
            for name, value in zip(BASELINES, ratios, strict=True)
        ),
    ]


def _cpu(row: Row) -> str:
    if row.cpu_us is None:
        return "-"
    return f"{row.cpu_us:.0f}" + ("" if row.redis_cpu_us is None else f" + {row.redis_cpu_us:.0f}")


def table(rows: list[Row]) -> str:
    """A Markdown table, one line per server and scenario, ready to paste into a README."""
    header = [
        "server",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "start-up s",
        "RSS MiB",
        "CPU µs/req",
    ]
    header += [f"vs {name}" for name in BASELINES]
    lines = [header, ["---"] * len(header), *(_cells(rows, row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines
    )


def goal_lines(rows: list[Row]) -> list[str]:
    """The issue's goals for our mock, each said met or missed (printed, never asserted)."""
    lines: list[str] = []
    for row in (row for row in rows if row.server == "ours"):
        wanted = {"connexion": 2.0, "prism": 1.5 if row.scenario.startswith("GET") else None}
        for baseline, target in wanted.items():
            value = ratio(rows, row, baseline)
            if target is not None and value is not None:
                lines.append(
                    _goal(f"{row.scenario}: ≥{target}x {baseline}", value >= target, f"{value:.2f}x")
                )
        lines.append(_goal(f"{row.scenario}: p99 < 25 ms", row.load.p99_ms < 25, f"{row.load.p99_ms:.1f} ms"))
        quiet = ratio(rows, row, "ours-nolog")
        if quiet is not None:
            cost = 1 - quiet
            measured = f"{cost:.0%} of ours-nolog's req/s"
            lines.append(_goal(f"{row.scenario}: access log costs < 20%", cost < 0.2, measured))
    for row in (row for row in rows if row.server == "ours-redis"):
        value = ratio(rows, row, "ours")
        if value is not None:
            lines.append(
                _goal(
                    f"{row.scenario}: Redis store, 1 worker ≥0.5x ours (memory)",
                    value >= 0.5,
                    f"{value:.2f}x",
                )
            )
        memory = next((r for r in rows if r.server == "ours" and r.scenario == row.scenario), None)
        if memory is not None and memory.cpu_us and row.cpu_us:
            # Supporting figure: other work on the machine moves req/s far more than CPU per request.
            cost = row.cpu_us / memory.cpu_us
            what = f"{row.scenario}: Redis store, 1 worker ≤2x ours' CPU per request (≥0.5x when CPU-bound)"
            measured = f"{cost:.2f}x, {row.cpu_us:.0f} vs {memory.cpu_us:.0f} µs"
            lines.append(_goal(what, cost <= 2, measured))
    for row in (row for row in rows if row.server == "proxy"):
        value = ratio(rows, row, "prism-proxy")
        if value is not None:
            lines.append(_goal(f"{row.scenario}: proxy ≥2x prism-proxy", value >= 2, f"{value:.2f}x"))
        direct = next((r for r in rows if r.server == "ours" and r.scenario == row.scenario), None)
        if direct is not None and direct.load.p99_ms > 0:
            slower = row.load.p99_ms / direct.load.p99_ms
            measured = f"{slower:.2f}x, {row.load.p99_ms:.1f} vs {direct.load.p99_ms:.1f} ms"
            lines.append(_goal(f"{row.scenario}: proxy p99 ≤2x the mock's", slower <= 2, measured))
    if any(row.server == "ours" for row in rows):
        ours = next(row for row in rows if row.server == "ours")
        spread = f", {min(ours.startups_s):.2f} to {max(ours.startups_s):.2f} s" if ours.startups_s else ""
        median = f"{ours.startup_s:.2f} s median of {len(ours.startups_s) or 1}{spread}"
        lines.append(_goal("start-up < 0.5 s", ours.startup_s < 0.5, median))
    return lines


def _goal(what: str, met: bool, measured: str) -> str:
    """One goal line."""
    return f"  {'met   ' if met else 'MISSED'}  {what} (measured {measured})"


def write_json(path: Path, rows: list[Row], notes: list[str], settings: dict[str, object]) -> None:
    """Write every figure, the machine, the settings and the notes to `path`."""
    document = {
        "machine": machine(),
        "settings": settings,
        "notes": notes,
        "rows": [
            {
                **asdict(row),
                "rps": row.load.rps,
                **{f"x_{name}": ratio(rows, row, name) for name in BASELINES},
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
