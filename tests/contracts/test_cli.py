"""``sip-trunks check``: options → config, exit codes, one-line reasons, keys never printed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts import cli
from contracts.engine.catalog import CHECK_NAMES
from contracts.engine.config import CheckConfig
from contracts.engine.events import CleanupFinished, RunFinished
from contracts.report import Reporter
from sip_trunks_openapi.cli import main

from .helpers import TOKEN_A, TOKEN_B
from .mutants.protocol import AuthNotEnforced


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[CheckConfig]:
    """Replace the run by a conformant no-op; collect the configs it was given."""
    configs: list[CheckConfig] = []

    def execute(config: CheckConfig, reporters: Sequence[Reporter]) -> RunFinished:
        configs.append(config)
        return RunFinished(results=(), failures=(), elapsed=0.0, seed=config.seed)

    monkeypatch.setattr(cli, "execute", execute)
    return configs


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args], env=env or {})
    return result.exit_code, result.stdout, result.stderr


def test_options_become_the_config(captured: list[CheckConfig], tmp_path: Path) -> None:
    code, _, _ = invoke(
        "--base-url", "https://api.example.com/", "--token", "k1", "--second-token", "k2",
        "--max-examples", "7", "--seed", "3", "--checks", "auth,isolation_get",
        "--junit-xml", str(tmp_path / "j.xml"), "--report", str(tmp_path / "r.json"), "--yes",
        "--state-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 0
    (config,) = captured
    assert config == CheckConfig(
        base_url="https://api.example.com",
        token="k1",
        second_token="k2",
        max_examples=7,
        seed=3,
        checks=("auth_required", "isolation_get"),
        junit_xml=tmp_path / "j.xml",
        report=tmp_path / "r.json",
        state_dir=tmp_path / "runs",
        auto_concurrency=True,  # no --concurrency: one lane if the target turns out near
    )


def test_the_html_report_and_the_coverage_bar_become_the_config(
    captured: list[CheckConfig], tmp_path: Path
) -> None:
    assert invoke("--html", str(tmp_path / "r.html"), "--min-coverage", "72.5%")[0] == 0
    assert (captured[0].html, captured[0].min_coverage) == (tmp_path / "r.html", 72.5)
    assert invoke()[0] == 0
    assert (captured[1].html, captured[1].min_coverage) == (None, None)  # off by default


@pytest.mark.parametrize("value", ["101", "-1", "eighty", "nan", ""])
def test_a_coverage_bar_that_is_no_percentage_is_exit_2(value: str) -> None:
    code, out, err = invoke("--min-coverage", value)
    assert (code, out) == (2, "")
    assert err == (
        "error: --min-coverage must be a percentage of documented responses from 0 to 100 "
        f"(e.g. 80), got {value!r}\n"
    )


def test_under_the_coverage_bar_a_conformant_run_is_exit_1_with_what_is_missing(
    serve: Callable[..., str],
) -> None:
    base_url = serve()
    args = ("--base-url", base_url, "--token", TOKEN_A, "--checks", "auth", "--seed", "1")
    code, out, _ = invoke(*args, "--min-coverage", "50")
    assert code == 1
    # The auth suite sees 401s (and the probe's 200s): 9 of the 45 documented responses.
    assert "coverage: 7/7 operations, 9/45 documented responses (20%)\n" in out
    assert (
        "coverage under --min-coverage 50%: 9/45 documented responses observed; never observed:\n"
        "  GET /sip-trunks            400 429 503\n"
        "  POST /sip-trunks           201 400 409 413 415 429 503\n"
        "  GET /sip-trunks/{id}       200 400 404 429 503\n"
        "  DELETE /sip-trunks/{id}    204 400 404 429 503\n"
        "  GET /phone-numbers         400 429 503\n"
        "  GET /phone-numbers/{id}    200 400 404 429 503\n"
        "  PATCH /phone-numbers/{id}  200 400 404 413 415 422 429 503\n"
    ) in out
    assert "COVERAGE TOO LOW: 1 checks, 1 passed, 0 failed, 0 skipped" in out
    code, out, _ = invoke(*args, "--min-coverage", "20")
    assert code == 0 and "CONFORMANT: 1 checks" in out and "never observed" not in out


def test_keys_come_from_the_environment(captured: list[CheckConfig]) -> None:
    env = {"SIP_TRUNKS_TOKEN": "k-env", "SIP_TRUNKS_SECOND_TOKEN": "k-env-2"}
    assert invoke("--base-url", "http://api", "--yes", env=env)[0] == 0
    assert (captured[0].token, captured[0].second_token) == ("k-env", "k-env-2")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--base-url", "http://api.example.com"], "error: --token is required with --base-url"),
        (["--base-url", "api.example.com", "--token", "k"], "error: --base-url must be an http(s) URL"),
        (["--checks", "auth,nonsense"], "error: unknown check 'nonsense' in --checks"),
        (
            ["--max-examples", "many"],
            "error: Invalid value for '--max-examples': 'many' is not a valid integer.",
        ),
        (["--frobnicate"], "error: No such option '--frobnicate'."),
        (
            ["--base-url", f"http://127.0.0.1:{_closed_port()}", "--token", "k"],
            "error: cannot reach http://127.0.0.1",
        ),
    ],
    ids=["token-missing", "bad-url", "unknown-check", "bad-number", "unknown-option", "unreachable"],
)
def test_could_not_run_is_exit_2_with_one_line_and_no_traceback(args: list[str], reason: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(reason)


def test_violations_are_exit_1_and_the_key_is_never_printed(serve: Callable[..., str]) -> None:
    base_url = serve(lambda app: AuthNotEnforced(app, token=TOKEN_A))
    code, out, err = invoke(
        "--base-url",
        base_url,
        "--token",
        TOKEN_A,
        "--second-token",
        TOKEN_B,
        "--checks",
        "auth",
        "--seed",
        "1",
    )
    assert code == 1
    assert "auth_required" in out and '"Authorization: Bearer $TOKEN"' not in out  # no auth: no header
    # A mock on the loopback answers at once: the run took one lane, and its replay says so.
    replay = f"replay: sip-trunks check --base-url {base_url} --seed 1 --concurrency 1 --checks auth_required"
    assert replay in out
    assert TOKEN_A not in out + err and TOKEN_B not in out + err


def test_a_conformant_target_is_exit_0(serve: Callable[..., str]) -> None:
    code, out, _ = invoke("--base-url", serve(), "--token", TOKEN_A, "--checks", "auth", "--seed", "1")
    assert code == 0
    *_, summary, cleaned = out.rstrip().splitlines()
    assert summary.startswith("CONFORMANT: 1 checks, 1 passed, 0 failed, 0 skipped")
    assert cleaned.startswith("cleanup of run ") and cleaned.endswith("nothing left behind")


def test_help_and_the_list_of_checks_work_from_the_root_command() -> None:
    code, out, _ = invoke("--help")
    assert code == 0 and "--second-token KEY" in out
    code, out, _ = invoke("--list-checks")
    assert code == 0
    assert all(f"  {name} " in out for name in CHECK_NAMES)


REMOTE = ["--base-url", "https://api.example.com/v1", "--token", "k1"]
PROMPT = "The run will {} trunks on api.example.com (its own only). Go on? [y/N]: "


@pytest.mark.parametrize(
    ("extra", "typed", "stderr"),
    [
        ([], "y\n", "y\n"),
        ([], "n\n", "n\nerror: not confirmed; nothing was sent\n"),
        # End of input (or Ctrl-C) at the prompt: click's "Aborted!" would be exit 1, "violations found".
        ([], "", "error: not confirmed; nothing was sent\n"),
        (["--cleanup", "0badc0de"], "y\n", "y\n"),
        (["--cleanup", "0badc0de"], "\n", "\nerror: not confirmed; nothing was sent\n"),
    ],
    ids=["yes", "no", "end-of-input", "cleanup-yes", "cleanup-default-is-no"],
)
def test_on_a_terminal_a_remote_run_asks_first_and_only_y_sends_anything(
    captured: list[CheckConfig],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    typed: str,
    stderr: str,
) -> None:
    swept: list[CheckConfig] = []
    monkeypatch.setattr(cli, "_interactive", lambda: True)  # CliRunner's stdin is never a terminal
    monkeypatch.setattr(cli, "sweep", lambda config, reporters: swept.append(config) or CleanupFinished("x"))
    result = CliRunner().invoke(main, ["check", *REMOTE, *extra], input=typed, env={})
    what = "delete the leftovers of run 0badc0de" if extra else "create, change and delete"
    assert result.stderr == f"target host: api.example.com\n{PROMPT.format(what)}{stderr}"
    confirmed = typed == "y\n"
    assert result.exit_code == (0 if confirmed else 2)
    assert len(captured + swept) == (1 if confirmed else 0)
    assert "k1" not in result.output


def test_with_yes_a_remote_run_asks_nothing(
    captured: list[CheckConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    result = CliRunner().invoke(main, ["check", *REMOTE, "--yes"], input="n\n", env={})
    assert (result.exit_code, result.stderr) == (0, "")
    assert len(captured) == 1
