"""The run cleans up whatever ends it: a signal part-way, a spent budget; ``--cleanup RUN_ID`` later."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner

from mockserver.client import AdminClient
from sip_trunks_openapi.cli import main

from .conftest import RunChecks
from .helpers import TOKEN_A
from .test_end_to_end import ENV, SIP_TRUNKS
from .test_safe_fuzzing import seed_foreign_data


def _trunk_count(admin: AdminClient) -> int:
    return len(admin.state()["organizations"][TOKEN_A]["trunks"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_by_a_signal_part_way_still_cleans_up(serve: Callable[..., str], signum: int) -> None:
    base_url = serve()
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        foreign = _trunk_count(admin)
        # --rate-limit slows the run down, so the signal surely lands in the middle of it.
        child = subprocess.Popen(
            [str(SIP_TRUNKS), "check", "--base-url", base_url, "--seed", "5", "--rate-limit", "150/s",
             "--checks", "model,stateless"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**ENV, "SIP_TRUNKS_TOKEN": TOKEN_A},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while _trunk_count(admin) <= foreign and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _trunk_count(admin) > foreign, "the run never created a trunk"
            child.send_signal(signum)
            out, err = child.communicate(timeout=30)
        finally:
            child.kill()
        assert admin.state() == before
    assert child.returncode == 2
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("cleanup of run ") and last.endswith("; nothing left behind"), out
    assert ("terminated" if signum == signal.SIGTERM else "interrupted") in err
    assert TOKEN_A not in out + err


def test_a_spent_budget_stops_the_run_cleans_up_and_says_so(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url = serve()
    finished, _ = run_checks(base_url, "stateless", max_examples=20, max_requests=120)
    assert finished.failures == ()
    assert finished.notes == (
        "stopped early: --max-requests 120 reached; the results cover the requests sent until then",
    )
    assert finished.cleanup is not None and finished.cleanup.clean and finished.cleanup.deleted
    with AdminClient(base_url) as admin:
        assert _trunk_count(admin) == 0
        sent = [entry for entry in admin.requests() if entry.method != "DELETE"]
    # The budget counts every request of the run; the cleanup's come on top.
    assert len([entry for entry in sent if entry.org is not None]) <= 120


def test_cleanup_run_id_deletes_that_runs_leftovers_and_nothing_else(serve: Callable[..., str]) -> None:
    base_url = serve()
    with AdminClient(base_url) as admin:
        seed_foreign_data(admin)
        auth = {"Authorization": f"Bearer {TOKEN_A}"}
        for name in (
            "sip-trunks-check-0badc0de-left",
            "sip-trunks-check-0badc0de-also",
            "sip-trunks-check-other-x",
        ):
            body = {"name": name, "host": "sip.example.com", "username": "u", "password": "p-1"}
            assert httpx.post(f"{base_url}/sip-trunks", json=body, headers=auth).status_code == 201
        result = CliRunner().invoke(
            main, ["check", "--base-url", base_url, "--token", TOKEN_A, "--cleanup", "0badc0de"], env={}
        )
        names = [trunk["name"] for trunk in admin.state()["organizations"][TOKEN_A]["trunks"]]
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().splitlines()[-1] == (
        "cleanup of run 0badc0de: deleted 2 trunks, restored 0 phone-number links; nothing left behind"
    )
    assert names == ["Production trunk", "Backup trunk", "sip-trunks-check-other-x"]


@pytest.mark.parametrize(
    "extra",
    [[], ["--cleanup", "0badc0de"]],
    ids=["check", "cleanup"],
)
def test_a_non_loopback_target_with_side_effects_needs_yes(extra: list[str]) -> None:
    args = ["check", "--base-url", "https://api.example.com/v1", "--token", "k1", *extra]
    result = CliRunner().invoke(main, args, env={}, input="")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "target host: api.example.com",
        result.stderr.splitlines()[1],
    ]
    assert "add --yes to confirm" in result.stderr and "k1" not in result.stderr


def test_read_only_or_loopback_targets_need_no_confirmation() -> None:
    from contracts.config import CheckConfig

    remote = CheckConfig.from_options(base_url="https://api.example.com", token="k", environ={})
    assert remote.needs_confirmation
    assert not remote.replace(read_only=True).needs_confirmation
    for url in ("http://127.0.0.1:4010", "http://localhost:4010", "http://[::1]:4010"):
        assert not CheckConfig.from_options(base_url=url, token="k", environ={}).needs_confirmation
