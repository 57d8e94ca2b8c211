"""`make bench-check`: the default check's wall time against the mock, one request at a time or in lanes.

For each latency (`sip-trunks mock --latency`, 0 = none: the loopback), one mock is started;
each concurrency runs the default check against it, as a user would (`sip-trunks check
--base-url URL --token KEY --seed S --concurrency N`, a fresh key per run, so a fresh
organization), and the table shows the wall times side by side. The embedded default
(`sip-trunks check` without `--base-url`) is measured too. On the loopback (0 ms, embedded)
a run takes seconds and a shared machine moves it by 10% or more, so those runs are repeated
(`--repeat`, the concurrencies taking turns) and the median is shown. Timings are printed, never
asserted; the goals of issue 15 are printed as `met` / `MISSED` lines. Exit 1 if a run did
not exit 0.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.servers import VENV_BIN, ServerSpec, running, stop_on_sigterm
from contracts.engine.config import DEFAULT_CONCURRENCY, EMBEDDED_CONCURRENCY

SIP_TRUNKS = str(VENV_BIN / "sip-trunks")
SEED = 2026
# The goals of issue 15.
GOAL_SECONDS_AT_50MS = 45.0
_SUMMARY = re.compile(r"(?P<requests>\d+) requests in (?P<seconds>[\d.]+) s")


@dataclass(frozen=True)
class Timed:
    """One `sip-trunks check` run."""

    target: str  # "embedded", or the mock's latency in ms
    concurrency: int
    wall: float
    exit_code: int
    requests: int | None
    summary: str


def _check(argv: list[str], target: str, concurrency: int) -> Timed:
    started = time.perf_counter()
    result = subprocess.run(
        [SIP_TRUNKS, "check", *argv, "--seed", str(SEED), "--concurrency", str(concurrency)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = next(
        (line for line in lines if " checks, " in line), lines[-1] if lines else result.stderr.strip()
    )
    found = _SUMMARY.search(summary)
    return Timed(
        target, concurrency, wall, result.returncode, int(found["requests"]) if found else None, summary
    )


def measure(
    latencies: Sequence[int], concurrencies: Sequence[int], *, embedded: bool, repeat: int
) -> list[Timed]:
    """Every concurrency against a mock of each latency, then (``embedded``) against the embedded mock.

    Loopback targets are run ``repeat`` times (the concurrencies taking turns); every run is returned.
    """
    runs: list[Timed] = []

    def timed(argv: list[str], target: str, concurrency: int) -> None:
        runs.append(_check(argv, target, concurrency))
        print(_progress(runs[-1]), file=sys.stderr, flush=True)

    for latency in latencies:
        command = [SIP_TRUNKS, "mock", "--port", "{port}", "--no-access-log"]
        if latency:
            command += ["--latency", f"{latency}ms"]
        with running(ServerSpec(f"mock-{latency}ms", tuple(command))) as server:
            base_url = f"http://127.0.0.1:{server.port}"
            for turn in range(repeat if latency == 0 else 1):
                for concurrency in concurrencies:
                    token = f"bench-check-{latency}ms-c{concurrency}-{turn}"  # a fresh organization
                    timed(["--base-url", base_url, "--token", token], f"{latency} ms", concurrency)
    if embedded:
        for _ in range(repeat):
            for concurrency in concurrencies:
                timed([], "embedded", concurrency)
    return runs


def medians(runs: Sequence[Timed]) -> list[Timed]:
    """One run per target and concurrency: the median wall time of its repeats."""
    grouped: dict[tuple[str, int], list[Timed]] = {}
    for run in runs:
        grouped.setdefault((run.target, run.concurrency), []).append(run)
    chosen = []
    for same in grouped.values():
        ordered = sorted(same, key=lambda run: run.wall)
        chosen.append(ordered[(len(ordered) - 1) // 2])
    return chosen


def _progress(timed: Timed) -> str:
    wall = f"{timed.wall:6.1f} s"
    return f"{timed.target:>9}  --concurrency {timed.concurrency:<2}  {wall}  exit {timed.exit_code}"


def table(runs: Sequence[Timed]) -> str:
    """One row per target: the wall time of each concurrency, and the speed-up of the last over the first."""
    concurrencies = sorted({timed.concurrency for timed in runs})
    header = ["target", *(f"--concurrency {c} s" for c in concurrencies), "speed-up", "requests", "exit"]
    rows = [header]
    for target in dict.fromkeys(timed.target for timed in runs):
        mine = {timed.concurrency: timed for timed in runs if timed.target == target}
        walls = [mine[c].wall if c in mine else None for c in concurrencies]
        first, last = walls[0], walls[-1]
        speed_up = f"{first / last:.1f}x" if first and last else "-"
        requests = " / ".join(str(mine[c].requests) if c in mine else "-" for c in concurrencies)
        exits = " / ".join(str(mine[c].exit_code) if c in mine else "-" for c in concurrencies)
        rows.append(
            [
                target,
                *(f"{wall:.1f}" if wall is not None else "-" for wall in walls),
                speed_up,
                requests,
                exits,
            ]
        )
    widths = [max(len(row[index]) for row in rows) for index in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def goals(runs: Sequence[Timed]) -> list[str]:
    """The goals of issue 15, each ``met`` or ``MISSED`` with the figure measured."""
    lines = []
    by = {(timed.target, timed.concurrency): timed for timed in runs}
    at_50 = by.get(("50 ms", DEFAULT_CONCURRENCY))
    if at_50 is not None:
        ok = at_50.wall <= GOAL_SECONDS_AT_50MS and at_50.exit_code == 0
        lines.append(
            f"{'met' if ok else 'MISSED':<7} 50 ms latency, default: "
            f"≤ {GOAL_SECONDS_AT_50MS:.0f} s and exit 0 "
            f"(measured {at_50.wall:.1f} s, exit {at_50.exit_code})"
        )
    one, default = by.get(("0 ms", 1)), by.get(("0 ms", DEFAULT_CONCURRENCY))
    if one is not None and default is not None:
        # Loopback timings move by a few percent from run to run on a shared machine.
        ok = default.wall <= one.wall * 1.05
        lines.append(
            f"{'met' if ok else 'MISSED':<7} loopback (0 ms), default no slower than --concurrency 1 "
            f"(measured {default.wall:.1f} s against {one.wall:.1f} s)"
        )
    one, lanes = by.get(("embedded", EMBEDDED_CONCURRENCY)), by.get(("embedded", DEFAULT_CONCURRENCY))
    if one is not None:
        also = f"; --concurrency {DEFAULT_CONCURRENCY} took {lanes.wall:.1f} s" if lanes is not None else ""
        lines.append(
            f"{'met':<7} embedded mock: its default is --concurrency {EMBEDDED_CONCURRENCY}, as before "
            f"(measured {one.wall:.1f} s{also})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-check", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latencies", default="0,10,50", metavar="MS,...", help="mock latencies [default: 0,10,50]"
    )
    parser.add_argument(
        "--concurrency",
        default=f"1,{DEFAULT_CONCURRENCY}",
        metavar="N,...",
        help=f"--concurrency values to compare [default: 1,{DEFAULT_CONCURRENCY}]",
    )
    parser.add_argument("--no-embedded", action="store_true", help="skip the embedded mock's runs")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="runs of each loopback target, median shown [default: 3]",
    )
    args = parser.parse_args(argv)
    latencies = [int(value) for value in args.latencies.split(",")]
    concurrencies = [int(value) for value in args.concurrency.split(",")]
    stop_on_sigterm()
    runs = measure(latencies, concurrencies, embedded=not args.no_embedded, repeat=args.repeat)
    shown = medians(runs)
    print(table(shown))
    print()
    for line in goals(shown):
        print(line)
    print(
        f"\nseed {SEED}; every run is the default check (all checks, --max-examples 50); "
        f"loopback rows: the median of {args.repeat}"
    )
    return 0 if all(timed.exit_code == 0 for timed in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
