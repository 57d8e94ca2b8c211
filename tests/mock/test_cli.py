"""``sip-trunks mock``: options and environment → MockConfig, the banner, refusals with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mockserver import cli
from mockserver.config import MockConfig
from mockserver.controls.faults import FaultSpec, Latency
from mockserver.controls.rate_limit import RateLimit


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[MockConfig]:
    """Run the command without serving: record the config it would serve."""
    configs: list[MockConfig] = []

    def fake_serve(config: MockConfig, app: Any, on_shutdown: Any = None) -> None:
        configs.append(config)
        if on_shutdown is not None:
            on_shutdown()

    monkeypatch.setattr("mockserver.serve.serve", fake_serve)
    monkeypatch.setattr("mockserver.serve.bind_check", lambda config: config)
    monkeypatch.setattr(cli, "_configure_logging", lambda level: None)
    monkeypatch.delenv("SIP_TRUNKS_TOKENS", raising=False)
    return configs


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.mock, list(args), env=env)


def test_defaults(served: list[MockConfig]) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert served == [MockConfig()]


def test_options_become_the_config(served: list[MockConfig], tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("organizations: {}\n", encoding="utf-8")
    result = run(
        "--host", "0.0.0.0", "--port", "5000", "--token", "a", "--token", "b", "--seed", str(seed),
        "--max-trunks", "7", "--log-level", "debug", "--validate-responses", "--no-access-log",
        "--latency", "10-100ms", "--fault", "POST /sip-trunks status=503 times=2",
        "--fault", "/sip-trunks/{id} drop fraction=10%", "--fault-seed", "42", "--rate-limit", "600/min",
        "--journal-size", "50",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert served == [
        MockConfig(
            host="0.0.0.0",
            port=5000,
            tokens=("a", "b"),
            seed_file=seed,
            max_trunks=7,
            log_level="debug",
            validate_responses=True,
            access_log=False,
            latency=Latency(10, 100),
            faults=(
                FaultSpec(method="POST", path="/sip-trunks", status=503, times=2),
                FaultSpec(path="/sip-trunks/{id}", drop=True, fraction=0.1),
            ),
            fault_seed=42,
            rate_limit=RateLimit(600, 60),
            journal_size=50,
        )
    ]


def test_tokens_come_from_the_environment(served: list[MockConfig]) -> None:
    assert run(env={"SIP_TRUNKS_TOKENS": "k1, k2"}).exit_code == 0
    assert run("--token", "flag", env={"SIP_TRUNKS_TOKENS": "k1"}).exit_code == 0
    assert [config.tokens for config in served] == [("k1", "k2"), ("flag",)]


def test_the_banner(served: list[MockConfig]) -> None:
    result = run("--port", "4010")
    assert result.output == (
        "SIP trunks mock listening on http://127.0.0.1:4010\n"
        "  auth     Authorization: Bearer <any non-empty key>; each key is its own organization\n"
        "  try      curl -H 'Authorization: Bearer demo-key' http://127.0.0.1:4010/sip-trunks\n"
        "  docs     http://127.0.0.1:4010/ui/ (Swagger UI)\n"
        "  spec     http://127.0.0.1:4010/openapi.json\n"
        "  admin    http://127.0.0.1:4010/__admin/health, POST /__admin/reset, GET|PUT /__admin/state\n"
        "  testing  /__admin/faults, /__admin/requests (journal of the last 1000), /__admin/rate-limit\n"
        "Press Ctrl+C to stop.\n"
    )


def test_the_banner_says_which_faults_and_limit_are_on(served: list[MockConfig]) -> None:
    # A limit or a fault left in a start script must not go unnoticed; tokens stay hidden.
    result = run(
        "--rate-limit", "10/s", "--latency", "50ms", "--fault", "GET * status=503 token=secret-key",
        "--fault-seed", "7", "--journal-size", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  testing  /__admin/faults, /__admin/requests (journal off), /__admin/rate-limit" in lines
    assert "  limit    10/s per organization (then 429 with Retry-After)" in lines
    assert "  faults   * * latency=50ms; GET * status=503 org=85dbe15d75ef (seed 7)" in lines
    assert "secret-key" not in result.output


def test_the_banner_never_prints_the_tokens(served: list[MockConfig]) -> None:
    output = run("--token", "secret-key-1", "--token", "secret-key-2").output
    assert "secret-key" not in output
    assert "one of the 2 keys given" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--max-trunks", "-1"], "Invalid value for '--max-trunks'"),
        (["--seed", "/no/such/seed.yaml"], "/no/such/seed.yaml: cannot read the seed file"),
        (["--token", " "], "tokens must be non-empty"),
        (["--log-level", "loud"], "Invalid value for '--log-level'"),
        (["--latency", "5"], "Invalid value for '--latency': latency '5' is not like 50ms, 1.5s or 10-100ms"),
        (["--latency", "90-10ms"], "with the lower bound first"),
        (["--fault", "POST /sip-trunks staus=503"], "unknown option 'staus'; use status=, drop,"),
        (["--fault", "GET /sip-trunks"], "a fault needs an effect: status=CODE, drop or latency=DURATION"),
        (["--fault", "GET /sip-trunks status=200"], "status must be an error status (400-599), got 200"),
        (
            ["--fault", "GET /sip-trunks status=409"],
            "Error: fault 'GET /sip-trunks status=409': status 409 is not documented for GET /sip-trunks, "
            "so it cannot be injected there; use one of 400, 401, 429, 503",
        ),
        (["--fault", "GET /sip-trunk status=503"], "path '/sip-trunk' is not in the spec; use one of"),
        (["--fault", "* * status=500"], "status 500 is not documented for every operation of '* *'"),
        (["--rate-limit", "10"], "Invalid value for '--rate-limit': rate limit '10' is not like 10/s"),
        (["--journal-size", "-1"], "Invalid value for '--journal-size'"),
        (["--fault-seed", "-1"], "Invalid value for '--fault-seed'"),
    ],
    ids=[
        "port",
        "max-trunks",
        "missing-seed",
        "blank-token",
        "log-level",
        "latency",
        "latency-range",
        "fault-option",
        "fault-effect",
        "fault-2xx",
        "fault-undocumented",
        "fault-path",
        "fault-500",
        "rate-limit",
        "journal-size",
        "fault-seed",
    ],
)
def test_bad_options_exit_2_with_a_reason(served: list[MockConfig], args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_a_bad_seed_is_one_line(served: list[MockConfig], tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("organizations:\n  k:\n    trunks: [{name: n}]\n", encoding="utf-8")
    result = run("--seed", str(seed))
    assert result.exit_code == 2
    assert (
        result.output
        == f"Error: {seed}: organizations.k.trunks[0]: 'host' is a required property (and 1 more)\n"
    )


def test_a_busy_port_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setattr(cli, "_configure_logging", lambda level: None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("--port", str(port))
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_registered_as_sip_trunks_mock() -> None:
    executable = Path(sys.executable).with_name("sip-trunks")
    result = subprocess.run([executable, "mock", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Start the stateful mock server" in result.stdout
    assert "--token KEY" in result.stdout and "SIP_TRUNKS_TOKENS" in result.stdout


def test_the_command_serves_until_terminated(tmp_path: Path) -> None:
    import selectors
    import time

    import httpx

    executable = Path(sys.executable).with_name("sip-trunks")
    env = {"PATH": str(executable.parent), "SIP_TRUNKS_TOKENS": "cli-key", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(executable), "mock", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 20
        first = ""
        while not first and time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        response = None
        while response is None and time.monotonic() < deadline:
            try:
                response = httpx.get(f"{url}/sip-trunks", headers={"Authorization": "Bearer cli-key"})
            except httpx.ConnectError:
                time.sleep(0.05)  # the banner is printed just before uvicorn binds
        assert response is not None and response.json() == {"trunks": []}
        assert httpx.get(f"{url}/sip-trunks", headers={"Authorization": "Bearer other"}).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_command_writes_one_access_line_per_request_on_stderr(tmp_path: Path) -> None:
    # The CLI writes access lines in batches (mockserver.log_output): each is on stderr within
    # the flush interval, and the last ones are written when the mock stops.
    import re
    import time

    import httpx

    from mockserver.serve import bind_check

    port = bind_check(MockConfig(port=0)).port
    executable = Path(sys.executable).with_name("sip-trunks")
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as sink:
        process = subprocess.Popen(
            [str(executable), "mock", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env={"PATH": str(executable.parent), "SIP_TRUNKS_TOKENS": "cli-key"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        first = None
        while first is None and time.monotonic() < deadline:
            try:
                first = httpx.get(f"{url}/sip-trunks", headers={"Authorization": "Bearer cli-key"})
            except httpx.ConnectError:
                time.sleep(0.05)
        assert first is not None and first.status_code == 200
        while "path=/sip-trunks status=200" not in stderr.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "path=/sip-trunks status=200" in stderr.read_text()  # written while serving
        httpx.get(f"{url}/nope?token=cli-key")
    finally:
        process.terminate()
        process.wait(timeout=15)
    # The last line is there too: written when the mock stopped (uvicorn re-raises SIGTERM).
    logged = stderr.read_text()
    lines = [line for line in logged.splitlines() if " mockserver.access " in line]
    stamped = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO mockserver\.access "
    assert re.fullmatch(stamped + r"method=GET path=/sip-trunks status=200 duration_ms=\S+ org=\w+", lines[0])
    assert re.fullmatch(stamped + r"method=GET path=/nope status=404 duration_ms=\S+ org=-", lines[-1]), lines
    assert "cli-key" not in logged


# Hostile clients: the organization cap -------------------------------------------------------


def test_max_organizations_becomes_the_config(served: list[MockConfig]) -> None:
    assert run("--max-organizations", "25").exit_code == 0
    assert run().exit_code == 0
    assert [config.max_organizations for config in served] == [25, 10_000]


def test_max_organizations_below_1_exits_2(served: list[MockConfig]) -> None:
    result = run("--max-organizations", "0")
    assert result.exit_code == 2 and "Invalid value for '--max-organizations'" in result.output
    assert served == []


# Hostile clients: exposure and the admin token -------------------------------------------------

WARNING = "  !!! WARNING: the admin API (/__admin) has NO AUTHENTICATION"


def test_the_admin_token_comes_from_the_option_or_the_environment(served: list[MockConfig]) -> None:
    assert run("--admin-token", "from-flag").exit_code == 0
    assert run(env={"SIP_TRUNKS_ADMIN_TOKEN": "from-env"}).exit_code == 0
    assert run("--admin-token", "flag-wins", env={"SIP_TRUNKS_ADMIN_TOKEN": "from-env"}).exit_code == 0
    assert run(env={"SIP_TRUNKS_ADMIN_TOKEN": ""}).exit_code == 0
    assert [config.admin_token for config in served] == ["from-flag", "from-env", "flag-wins", None]


def test_a_blank_admin_token_exits_2(served: list[MockConfig]) -> None:
    result = run("--admin-token", " ")
    assert result.exit_code == 2 and "admin token must be non-empty" in result.output
    assert served == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "mock.example.lan"])
def test_a_host_other_than_loopback_without_an_admin_token_warns_loudly(
    served: list[MockConfig], host: str
) -> None:
    lines = run("--host", host).output.splitlines()
    assert lines[0].startswith("SIP trunks mock listening on http://")
    assert lines[1:7] == [
        "",
        f"{WARNING}, and {host} is not loopback:",
        "  !!! anyone who can reach this port can read every organization's state and API keys,",
        "  !!! replace it, inject faults and read the request journal. Start with --admin-token KEY",
        "  !!! (better: $SIP_TRUNKS_ADMIN_TOKEN, not visible in ps) or --host 127.0.0.1.",
        "",
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_a_loopback_host_does_not_warn(served: list[MockConfig], host: str) -> None:
    assert WARNING not in run("--host", host).output


def test_with_an_admin_token_the_banner_says_so_and_never_shows_it(served: list[MockConfig]) -> None:
    output = run("--host", "0.0.0.0", "--admin-token", "very-secret-admin-key").output
    assert WARNING not in output and "very-secret-admin-key" not in output
    assert "           with Authorization: Bearer <the admin token> (all but /__admin/health)" in output
    assert "very-secret-admin-key" not in repr(served[0])
