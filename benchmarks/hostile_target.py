"""`make hostile-target`: what a broken or hostile target costs the checker, in memory and time.

Each scenario serves the mock on a loopback port, wrapped so that some requests get a
hostile answer (the wrappers of `tests/contracts/hostile_targets.py`), runs `sip-trunks check`
against it as a subprocess, and prints the checker's peak RSS (from `wait4`), its wall time,
its exit code and its last line. The first scenario, the mock as it is, is the baseline
measured in the same run. Printed, never asserted: the goal (peak RSS under ~400 MiB
whatever the target sends) is read off the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver import MockConfig, create_app, running_mock
from tests.contracts.hostile_targets import (
    Misbehaving,
    after,
    declared_huge,
    drip_body,
    endless_body,
    gets,
    throttled,
)

TOKEN = "bench-hostile-key"
SIP_TRUNKS = Path(sys.executable).with_name("sip-trunks")
CHECKS = "model,stateless"
GOAL_MIB = 400.0


def _near_cap_list(size: int) -> Callable[..., Any]:
    """Every list answer is a valid JSON list of trunks just under ``size`` bytes."""
    trunk = {
        "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
        "name": "x" * 255,
        "host": "sip.example.com",
        "port": 5060,
        "username": "u" * 255,
        "created_at": "2026-01-01T00:00:00Z",
    }
    one = len(json.dumps(trunk)) + 2
    body = json.dumps({"trunks": [trunk] * ((size - 64) // one)}).encode()

    async def behaviour(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return behaviour


@dataclass(frozen=True)
class Scenario:
    name: str
    wrap: Callable[[Any], Any] | None
    options: tuple[str, ...] = ()


def scenarios(max_body: int) -> list[Scenario]:
    return [
        Scenario("baseline: the mock as it is", None),
        Scenario(
            "endless body on GET /sip-trunks/{id}",
            lambda app: Misbehaving(app, gets("/sip-trunks/"), endless_body),
        ),
        Scenario(
            "200 MB declared on GET /sip-trunks/{id}",
            lambda app: Misbehaving(app, gets("/sip-trunks/"), declared_huge),
        ),
        Scenario(
            "every list answer just under the cap",
            lambda app: Misbehaving(app, gets("/sip-trunks"), _near_cap_list(max_body)),
        ),
        Scenario(
            "body dripped 1 byte/50 ms on GET /sip-trunks/{id}",
            lambda app: Misbehaving(app, gets("/sip-trunks/"), drip_body(0.05)),
            ("--request-timeout", "2s", "--max-examples", "3"),
        ),
        Scenario(
            "429 for ever after 40 requests",
            lambda app: Misbehaving(app, after(40), throttled("1")),
            ("--max-rate-limit-wait", "10s"),
        ),
    ]


def run_one(scenario: Scenario, max_examples: int, state_dir: Path) -> tuple[float, float, int, str]:
    """(peak RSS MiB, wall s, exit code, last line) of one check run against the scenario's target."""
    config = MockConfig(tokens=(TOKEN,), access_log=False)
    app = create_app(config)
    with ExitStack() as stack:
        mock = stack.enter_context(running_mock(config, app=scenario.wrap(app) if scenario.wrap else app))
        argv = [
            str(SIP_TRUNKS), "check", "--base-url", str(mock.base_url), "--seed", "1", "--checks", CHECKS,
            "--max-examples", str(max_examples), *scenario.options,
        ]  # fmt: skip
        env = {**os.environ, "SIP_TRUNKS_TOKEN": TOKEN, "SIP_TRUNKS_STATE_DIR": str(state_dir)}
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert child.stdout is not None and child.stderr is not None
        out = child.stdout.read()
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    # The verdict and cleanup lines are on stdout; a reason not to run, on stderr.
    lines = out.decode(errors="replace").strip().splitlines()
    lines = lines or err.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else ""
    return usage.ru_maxrss / 1024, wall, child.returncode, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make hostile-target", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=10, help="examples per operation [default: 10]")
    parser.add_argument("--only", metavar="TEXT", help="only the scenarios whose name contains TEXT")
    parser.add_argument("--state-dir", type=Path, default=Path("build/bench-hostile-target"))
    args = parser.parse_args(argv)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    from contracts.http.bounded import DEFAULT_MAX_BODY

    print(f"sip-trunks check --checks {CHECKS} --max-examples {args.max_examples} against hostile targets")
    print(f"{'scenario':<52} {'peak RSS':>9} {'wall':>7} {'exit':>4}  last line")
    baseline = None
    for scenario in scenarios(DEFAULT_MAX_BODY):
        if args.only and args.only not in scenario.name:
            continue
        rss, wall, code, last = run_one(scenario, args.max_examples, args.state_dir)
        baseline = baseline if baseline is not None else rss
        print(f"{scenario.name:<52} {rss:7.1f} M {wall:6.1f}s {code:>4}  {last[:110]}", flush=True)
    if baseline is not None:
        print(f"goal: peak RSS under ~{GOAL_MIB:.0f} MiB in every scenario (baseline {baseline:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
