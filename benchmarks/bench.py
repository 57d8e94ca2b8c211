"""`make bench`: start each server in turn, load it with the same generator and print one comparison table."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.loadgen import (
    POST_TOKENS,
    WRK_INSTALL_HINT,
    LoadResult,
    Scenario,
    run_python,
    run_wrk,
    wrk_available,
)
from benchmarks.report import Row, goal_lines, machine, table, write_json
from benchmarks.servers import (
    DEFAULT_OURS_CMD,
    HOST,
    PRISM_INSTALL_HINT,
    TRUNK_BODY,
    RunningServer,
    ServerSpec,
    ServerUnavailable,
    cpu_seconds,
    ours_spec,
    ours_unavailable_reason,
    prism_spec,
    request,
    rss_mib,
    running,
    stop_on_sigterm,
    throwaway_redis,
    uvicorn_spec,
)

SERVERS = (
    "starlette",
    "connexion",
    "ours",
    "ours-nolog",
    "ours-redis",
    "ours-redis-w2",
    "prism",
    "proxy",
    "prism-proxy",
)
REDIS_SERVERS = {"ours-redis": (1, 1), "ours-redis-w2": (2, 2)}
"""Our mock on a throwaway Redis: the database number and the number of workers."""
SCENARIOS = {"list": "GET list", "by-id": "GET by id", "create": "POST create"}
"""Scenario names on the command line -> in the table."""
Load = Callable[[int, Scenario, float], LoadResult]
"""A load generator bound to its settings: (port, scenario, seconds) -> result."""

EPILOG = f"""
servers: starlette (bare Starlette, the ceiling), connexion (plain connexion 3 AsyncApp on our
spec), ours (`sip-trunks mock`), ours-nolog (the same with --no-access-log: what the access log
costs), ours-redis and ours-redis-w2 (`sip-trunks mock --store redis://...` with 1 worker and with
--workers 2, on a throwaway redis-server started for the run), prism (Prism's static mock, logging
off, when `prism` is on PATH), proxy (`sip-trunks proxy` in front of `sip-trunks mock`: the mock
through our validating proxy) and prism-proxy (`prism proxy` in front of the same mock, when
`prism` is on PATH).
Each is started alone on a free 127.0.0.1 port, then GET /sip-trunks, GET /sip-trunks/{{id}} (a
trunk created first) and POST /sip-trunks are each loaded for --warmup + --duration seconds.
POSTs rotate over {POST_TOKENS} tokens (one organization each) so our mock's trunk cap is not hit.

load generator: wrk -t1 -c<connections>; install it with
  {WRK_INSTALL_HINT}
Without wrk, an asyncio keep-alive client in this process (--generator python; it saturates
sooner than wrk, so compare rows of one run only).

examples:
  make bench
  make bench ARGS="--duration 10 --only connexion,ours --scenarios list,create --json bench.json"
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration", type=_positive, default=5, help="measured seconds per scenario (default 5)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured seconds before each (default 1)")
    parser.add_argument(
        "--connections", type=_positive, default=50, help="concurrent connections (default 50)"
    )
    parser.add_argument(
        "--only",
        type=_names(SERVERS),
        default=list(SERVERS),
        help=f"comma-separated servers: {','.join(SERVERS)}",
    )
    parser.add_argument(
        "--scenarios",
        type=_names(tuple(SCENARIOS)),
        default=list(SCENARIOS),
        help=f"comma-separated scenarios: {','.join(SCENARIOS)} (GET list, GET by id, POST create)",
    )
    parser.add_argument(
        "--generator", choices=("auto", "wrk", "python"), default="auto", help="default: auto"
    )
    parser.add_argument(
        "--startups",
        type=_positive,
        default=5,
        help="start each server this many times; the table shows the median start-up (default 5)",
    )
    parser.add_argument("--ours-cmd", default=DEFAULT_OURS_CMD, help="command starting our mock, with {port}")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    return parser.parse_args(argv)


def _positive(value: str) -> int:
    """An argparse type for a whole number of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return number


def _names(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated subset of `allowed`."""

    def parse(value: str) -> list[str]:
        chosen = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [name for name in chosen if name not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"choose among {', '.join(allowed)}; got {value!r}")
        return chosen

    return parse


def choose_load(generator: str, connections: int, notes: list[str]) -> tuple[str, Load]:
    """Pick wrk when present (or asked for), else the Python fallback, saying how to install wrk."""
    if generator == "wrk" or (generator == "auto" and wrk_available()):

        def wrk(port: int, scenario: Scenario, seconds: float) -> LoadResult:
            return run_wrk(f"http://{HOST}:{port}{scenario.path}", scenario, seconds, connections)

        return f"{wrk_version()} -t1 -c{connections}", wrk
    if generator == "auto":
        notes.append(f"wrk not found, the Python fallback generator ran; install wrk: {WRK_INSTALL_HINT}")

    def python(port: int, scenario: Scenario, seconds: float) -> LoadResult:
        return run_python(HOST, port, scenario, seconds, connections)

    return f"python asyncio keep-alive -c{connections}", python


def wrk_version() -> str:
    """`wrk 4.1.0`-like text from `wrk -v`."""
    output = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10).stdout
    return output.split("[")[0].strip() or "wrk"


def server_specs(
    only: list[str], ours_cmd: str, notes: list[str], redis_port: int | None = None
) -> list[ServerSpec]:
    """The servers to run, in table order; the ones that cannot run here become notes."""
    specs: list[ServerSpec] = []
    for name in only:
        if name == "starlette":
            specs.append(uvicorn_spec("starlette", "benchmarks.baseline_starlette:app"))
        elif name == "connexion":
            specs.append(uvicorn_spec("connexion", "benchmarks.baseline_connexion:app"))
        elif name in ("ours", "ours-nolog"):
            reason = ours_unavailable_reason(ours_cmd)
            if reason:
                notes.append(f"{name}: skipped, the mock cannot start yet ({reason})")
            elif name == "ours":
                specs.append(ours_spec(ours_cmd))
            else:  # what the access log costs, measured in the same run
                specs.append(replace(ours_spec(f"{ours_cmd} --no-access-log"), name=name))
        elif name in REDIS_SERVERS:
            db, workers = REDIS_SERVERS[name]
            if redis_port is None:
                notes.append(f"{name}: skipped, no redis-server (apt-get install redis-server)")
                continue
            store = f"--store redis://{HOST}:{redis_port}/{db} --workers {workers}"
            specs.append(replace(ours_spec(f"{ours_cmd} {store}"), name=name))
        elif name == "prism":
            try:
                specs.append(prism_spec())
            except ServerUnavailable as exc:
                notes.append(str(exc))
        elif name in ("proxy", "prism-proxy"):
            via = "ours" if name == "proxy" else "prism"
            if via == "prism" and shutil.which("prism") is None:
                notes.append(f"prism-proxy: not available ({PRISM_INSTALL_HINT})")
                continue
            launcher = (sys.executable, "-m", "benchmarks.proxied", "--port", "{port}", "--via", via)
            # {mock_port}: the bench fills in {port} (the proxy's); the launcher picks the mock's.
            mock_cmd = ours_cmd.replace("{port}", "{mock_port}")
            specs.append(ServerSpec(name, (*launcher, "--mock-cmd", mock_cmd), startup_timeout=60.0))
    return specs


def scenarios_for(server: RunningServer, wanted: list[str]) -> list[Scenario]:
    """The scenarios against one server; creates the trunk that GET by id reads (and GET list lists)."""
    status, body = request(server.port, "POST", "/sip-trunks", "bench-token", TRUNK_BODY)
    if status != 201:
        raise ServerUnavailable(
            f"{server.spec.name}: set-up POST /sip-trunks answered {status}: {body[:200]!r}"
        )
    trunk_id = json.loads(body)["id"]
    every = [
        Scenario("GET list", "GET", "/sip-trunks"),
        Scenario("GET by id", "GET", f"/sip-trunks/{trunk_id}"),
        Scenario("POST create", "POST", "/sip-trunks", body=json.dumps(TRUNK_BODY)),
    ]
    names = {SCENARIOS[slug] for slug in wanted}
    return [scenario for scenario in every if scenario.name in names]


def startup_times(spec: ServerSpec, count: int) -> list[float]:
    """Start and stop `spec` `count` times, alone, and return each start-up (one start is noise)."""
    times: list[float] = []
    for _ in range(count):
        with running(spec) as server:
            times.append(server.startup_seconds)
    return times


def measure(
    spec: ServerSpec,
    wanted: list[str],
    load: Load,
    warmup: int,
    duration: int,
    startups: int,
    redis_pid: int | None = None,
) -> list[Row]:
    """Time `startups` starts, then start once more, run each scenario (warm-up, then measured), read RSS."""
    rows: list[Row] = []
    times = startup_times(spec, startups - 1)
    with running(spec) as server:
        times.append(server.startup_seconds)
        startup = statistics.median(times)
        print(
            f"{spec.name}: up in {startup:.3f} s (median of {len(times)} starts, "
            f"{min(times):.3f} to {max(times):.3f}) on port {server.port}",
            flush=True,
        )
        for scenario in scenarios_for(server, wanted):
            if warmup:
                load(server.port, scenario, warmup)
            before = cpu_seconds(server.process.pid)
            redis_before = None if redis_pid is None else cpu_seconds(redis_pid)
            result = load(server.port, scenario, duration)
            answered = max(result.requests, 1)
            cpu_us = (cpu_seconds(server.process.pid) - before) * 1e6 / answered
            redis_us = (
                None
                if redis_before is None
                else (cpu_seconds(redis_pid or 0) - redis_before) * 1e6 / answered
            )
            rows.append(
                Row(
                    spec.name,
                    scenario.name,
                    result,
                    startup,
                    rss_mib(server.process.pid),
                    tuple(times),
                    cpu_us,
                    redis_us if spec.name in REDIS_SERVERS else None,
                )
            )
            print(f"  {scenario.name}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.1f} ms", flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark: 1 when a baseline could not be measured, else 0 (goals are printed only)."""
    args = parse_args(argv)
    stop_on_sigterm()
    notes: list[str] = []
    generator, load = choose_load(args.generator, args.connections, notes)
    rows: list[Row] = []
    failed = False
    with contextlib.ExitStack() as stack:
        redis = None
        if any(name in REDIS_SERVERS for name in args.only):
            try:
                redis = stack.enter_context(throwaway_redis())
            except ServerUnavailable as exc:
                notes.append(str(exc))
        for spec in server_specs(args.only, args.ours_cmd, notes, None if redis is None else redis.port):
            try:
                redis_pid = None if redis is None else redis.pid
                rows += measure(
                    spec, args.scenarios, load, args.warmup, args.duration, args.startups, redis_pid
                )
            except (ServerUnavailable, subprocess.SubprocessError, OSError) as exc:
                notes.append(f"{spec.name}: not measured: {exc}")
                failed |= spec.name in ("starlette", "connexion")
    info = machine()
    print(f"\nmachine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, Python {info['python']}")
    print(f"generator: {generator}, {args.duration} s per scenario after {args.warmup} s warm-up\n")
    print(table(rows))
    for note in notes:
        print(f"note: {note}")
    if goals := goal_lines(rows):
        print("\ngoals of issues 8, 13 and 14:", *goals, sep="\n")
    if args.json:
        settings = {**{k: v for k, v in vars(args).items() if k != "json"}, "generator": generator}
        write_json(args.json, rows, notes, settings)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
