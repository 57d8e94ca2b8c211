"""`make mutants`: the default `sip-trunks check` against every mutant; when and how each was caught.

Each mutant (``tests/contracts/mutants/``) is the mock with one planted defect, served on
a loopback port; the engine runs in this process with every check and the default budget,
as `sip-trunks check --base-url URL` would. Per mutant: the checks that failed, the seconds
from the start of the run to the failure of the expected check, and the requests the server
had answered by then. Exit 1 if a mutant is missed or takes 60 s or more to catch.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from contracts import CheckConfig, run
from contracts.engine.events import FailureFound, RunFinished
from tests.contracts.mutants import CORPUS, App, Planted, Receive, Scope, Send, serving

TOKENS = ("mutant-org-a-5c1d", "mutant-org-b-93e0")
SEED = 2026
LIMIT_SECONDS = 60.0


class Counting:
    """Counts the HTTP requests that reach the server (ASGI middleware)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.count += 1
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Detection:
    """How one run against one mutant went."""

    planted: Planted
    # Every check that failed, in the order their first failure was reported.
    caught_by: tuple[str, ...]
    # From the start of the run to the expected check's first failure; None if it never failed.
    seconds: float | None
    requests: int | None
    total_seconds: float
    total_requests: int

    @property
    def caught(self) -> bool:
        return self.seconds is not None and self.seconds < LIMIT_SECONDS


def detect(
    planted: Planted,
    *,
    seed: int = SEED,
    checks: str | None = None,
    latency_ms: float = 0,
    concurrency: int | None = None,
) -> Detection:
    """Run the suite (every check unless ``checks``, default budget) against ``planted``."""
    counter: list[Counting] = []

    def counted(app: App) -> App:
        counter.append(Counting(app))
        return counter[0]

    with serving(planted, TOKENS, wrap=counted, latency_ms=latency_ms) as base_url:
        config = CheckConfig.from_options(
            base_url=base_url,
            token=TOKENS[0],
            second_token=TOKENS[1],
            seed=seed,
            checks=checks,
            concurrency=concurrency,
            environ={},
        )
        caught_by: list[str] = []
        seconds = requests = None
        started = time.monotonic()
        for event in run(config):
            if isinstance(event, FailureFound) and event.failure.check not in caught_by:
                caught_by.append(event.failure.check)
                if event.failure.check == planted.check:
                    seconds, requests = time.monotonic() - started, counter[0].count
            elif isinstance(event, RunFinished):
                finished = event
    return Detection(
        planted,
        tuple(caught_by),
        seconds,
        requests,
        total_seconds=finished.elapsed,
        total_requests=finished.requests,
    )


def table(detections: Sequence[Detection], *, markdown: bool = False) -> str:
    """One row per mutant: as aligned text (without the defect), or as Markdown (with it)."""
    header = ("mutant", "defect", "expected check", "caught by", "s", "requests", "run s")
    rows = [
        (
            d.planted.name,
            d.planted.defect.replace("|", "/"),
            d.planted.check,
            ", ".join(d.caught_by) or "-",
            f"{d.seconds:.1f}" if d.seconds is not None else "MISSED",
            str(d.requests) if d.requests is not None else "-",
            f"{d.total_seconds:.1f}",
        )
        for d in detections
    ]
    if markdown:
        lines = [header, ("---",) * len(header), *rows]
        return "\n".join("| " + " | ".join(row) + " |" for row in lines)
    text = [tuple(cell for i, cell in enumerate(row) if i != 1) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in text) for i in range(len(text[0]))]
    numeric = range(3, len(widths))
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in text
    )


def summary(detections: Sequence[Detection]) -> str:
    """``N/N defects caught, median time to detection T s``."""
    caught = [d for d in detections if d.caught]
    median = statistics.median(d.seconds for d in caught if d.seconds is not None) if caught else 0.0
    return f"{len(caught)}/{len(detections)} defects caught, median time to detection {median:.1f} s"


def _quiet() -> None:
    # The servers' log records and the libraries' warnings would bury the table.
    warnings.simplefilter("ignore")
    for name in ("connexion", "uvicorn", "mockserver"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.handlers = [logging.NullHandler()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutants", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed of every run [default: {SEED}]")
    parser.add_argument("--only", metavar="NAME,...", help="only these mutants")
    parser.add_argument(
        "--suite-only",
        action="store_true",
        help="run only each mutant's expected suite (what the tests do), not every check",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--latency",
        type=float,
        default=0,
        metavar="MS",
        help="added to every request of the mutants [default: 0]",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="the check's --concurrency [default: the check's default]",
    )
    args = parser.parse_args(argv)
    corpus: Sequence[Planted] = CORPUS
    if args.only:
        wanted = set(args.only.split(","))
        corpus = [planted for planted in CORPUS if planted.name in wanted]
        if unknown := wanted - {planted.name for planted in corpus}:
            parser.error(f"no mutant named {', '.join(sorted(unknown))}")
    _quiet()
    detections = []
    for planted in corpus:
        detection = detect(
            planted,
            seed=args.seed,
            checks=planted.suite if args.suite_only else None,
            latency_ms=args.latency,
            concurrency=args.concurrency,
        )
        detections.append(detection)
        state = f"{detection.seconds:5.1f} s" if detection.seconds is not None else "MISSED"
        print(f"{planted.name:<28} {state}", file=sys.stderr, flush=True)
    print(table(detections, markdown=args.markdown))
    print()
    scope = "its expected suite" if args.suite_only else "every check"
    behind = f", {args.latency:g} ms latency" if args.latency else ""
    lanes = f", --concurrency {args.concurrency}" if args.concurrency else ""
    print(f"{summary(detections)} ({scope}, default budget, seed {args.seed}{behind}{lanes})")
    return 0 if all(d.caught for d in detections) else 1


if __name__ == "__main__":
    sys.exit(main())
