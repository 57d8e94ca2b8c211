"""A validating proxy in front of our mock, as one server for `make bench`: the proxy listens on `--port`.

`python -m benchmarks.proxied --port 4011 --via ours` starts `sip-trunks mock` on a free
loopback port, waits for its first 200, then runs `sip-trunks proxy` (or, with `--via prism`,
`prism proxy`) in front of it on `--port`, and stops both, by pid, on SIGTERM or when either
exits. The bench's `stop()` SIGTERMs this launcher and its children.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence

from benchmarks.servers import (
    DEFAULT_OURS_CMD,
    HOST,
    PRISM_INSTALL_HINT,
    REPO_ROOT,
    VENV_BIN,
    free_port,
    request,
    stop,
    stop_on_sigterm,
)
from sip_trunks_openapi import SPEC_PATH

START_TIMEOUT = 30.0


def proxy_command(via: str, upstream: str, port: int) -> list[str]:
    """The command line of the proxy under test."""
    if via == "ours":
        return [
            str(VENV_BIN / "sip-trunks"),
            "proxy",
            "--upstream",
            upstream,
            "--host",
            HOST,
            "--port",
            str(port),
        ]
    prism = shutil.which("prism")
    if prism is None:
        raise SystemExit(f"prism: not available ({PRISM_INSTALL_HINT})")
    return [prism, "proxy", str(SPEC_PATH), upstream, "--host", HOST, "--port", str(port), "-v", "silent"]


def _wait_for_mock(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the mock exited with code {process.returncode} before answering")
        with contextlib.suppress(OSError):
            if request(port, "GET", "/sip-trunks", "bench-startup")[0] == 200:
                return
        time.sleep(0.01)
    raise SystemExit(f"the mock gave no 200 within {START_TIMEOUT:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxied", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="where the proxy listens")
    parser.add_argument("--via", choices=("ours", "prism"), default="ours", help="which proxy (default ours)")
    parser.add_argument(
        "--mock-cmd",
        default=DEFAULT_OURS_CMD.replace("{port}", "{mock_port}"),
        help="command starting the mock, with {mock_port}",
    )
    args = parser.parse_args(argv)
    stop_on_sigterm()
    mock_port = free_port()
    mock_argv = [part.replace("{mock_port}", str(mock_port)) for part in shlex.split(args.mock_cmd)]
    children: list[subprocess.Popen[bytes]] = []
    try:
        mock = subprocess.Popen(mock_argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        children.append(mock)
        _wait_for_mock(mock, mock_port)
        upstream = f"http://{HOST}:{mock_port}"
        proxy = subprocess.Popen(
            proxy_command(args.via, upstream, args.port), cwd=REPO_ROOT, stdin=subprocess.DEVNULL
        )
        children.append(proxy)
        while all(child.poll() is None for child in children):
            time.sleep(0.1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            stop(child)


if __name__ == "__main__":
    sys.exit(main())
