"""The run cleans up whatever ends it: a signal part-way, a spent budget; ``--cleanup RUN_ID`` later."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from contracts.engine.config import STATE_DIR_ENV
from contracts.safety.ledger import NAME_PREFIX
from mockserver.client import AdminClient
from sip_trunks_openapi.cli import main

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B
from .test_end_to_end import ENV, SIP_TRUNKS
from .test_safe_fuzzing import FOREIGN_TRUNKS, seed_foreign_data


def _trunk_count(admin: AdminClient) -> int:
    return len(admin.state()["organizations"][TOKEN_A]["trunks"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_by_a_signal_part_way_still_cleans_up(
    serve: Callable[..., str], signum: int, state_dir: Path
) -> None:
    base_url = serve()
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        foreign = _trunk_count(admin)
        # --rate-limit slows the run down, so the signal surely lands in the middle of it.
        child = subprocess.Popen(
            [str(SIP_TRUNKS), "check", "--base-url", base_url, "--seed", "5", "--rate-limit", "150/s",
             "--checks", "model,stateless"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**ENV, "SIP_TRUNKS_TOKEN": TOKEN_A, STATE_DIR_ENV: str(state_dir)},
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
    assert not state_dir.exists() or list(state_dir.iterdir()) == []  # cleaned up: no ledger kept


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
    from contracts.engine.config import CheckConfig

    remote = CheckConfig.from_options(base_url="https://api.example.com", token="k", environ={})
    assert remote.needs_confirmation
    assert not remote.replace(read_only=True).needs_confirmation
    for url in ("http://127.0.0.1:4010", "http://localhost:4010", "http://[::1]:4010"):
        assert not CheckConfig.from_options(base_url=url, token="k", environ={}).needs_confirmation


def _linked_to_the_run(state: dict[str, Any], before: dict[str, Any]) -> bool:
    """Whether a phone number of organization A now uses a trunk this run created."""
    org, was = state["organizations"][TOKEN_A], before["organizations"][TOKEN_A]
    ours = {trunk["id"] for trunk in org["trunks"] if trunk["name"].startswith(NAME_PREFIX)}
    links = {phone["id"]: phone["transfer_trunk_id"] for phone in org["phone_numbers"]}
    return any(links.get(phone["id"]) in ours for phone in was["phone_numbers"])


def test_a_run_killed_outright_after_linking_a_phone_number_is_undone_by_cleanup_run_id(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    base_url = serve()
    state_dir = tmp_path / "runs"
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with AdminClient(base_url) as admin, out_path.open("w") as out, err_path.open("w") as err:
        before = seed_foreign_data(admin)
        # SIGKILL: no handler runs, no cleanup; only the journal on disk survives.
        child = subprocess.Popen(
            [str(SIP_TRUNKS), "check", "--base-url", base_url, "--seed", "5", "--rate-limit", "100/s",
             "--checks", "model", "--state-dir", str(state_dir)],
            stdout=out, stderr=err, env={**ENV, "SIP_TRUNKS_TOKEN": TOKEN_A},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not _linked_to_the_run(admin.state(), before) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _linked_to_the_run(admin.state(), before), "the run never linked a phone number"
            child.kill()
            assert child.wait(timeout=10) == -signal.SIGKILL
        finally:
            child.kill()
        left = admin.state()
        assert left != before  # the run's trunks and links are still there: nothing cleaned up
        (journal,) = state_dir.glob("*.json")
        run_id = journal.stem
        assert f" · run {run_id}" in err_path.read_text()
        assert json.loads(journal.read_text())["phone_numbers"]  # the links to put back, saved before

        swept = CliRunner().invoke(
            main,
            ["check", "--base-url", base_url, "--token", TOKEN_A, "--cleanup", run_id,
             "--state-dir", str(state_dir)],
            env={},
        )  # fmt: skip
        after = admin.state()
    assert swept.exit_code == 0, swept.output
    last = swept.stdout.rstrip().splitlines()[-1]
    assert last.startswith(f"cleanup of run {run_id}: deleted ") and last.endswith("; nothing left behind")
    assert " restored 0 " not in last
    assert after == before
    assert list(state_dir.iterdir()) == []  # the journal (and any temporary file) is gone
    assert TOKEN_A not in swept.output + out_path.read_text() + err_path.read_text()


def test_what_cleanup_cannot_delete_is_named_its_ledger_kept_and_cleanup_run_id_finishes_it(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    base_url = serve()
    state_dir = tmp_path / "runs"
    target = ["--base-url", base_url, "--token", TOKEN_A, "--state-dir", str(state_dir)]
    with AdminClient(base_url) as admin:
        before = seed_foreign_data(admin)
        # Organization A's DELETEs fail: the isolation suite's own delete, then every cleanup attempt.
        admin.inject(f"DELETE /sip-trunks/{{id}} status=503 token={TOKEN_A}")
        ran = CliRunner().invoke(
            main, ["check", *target, "--second-token", TOKEN_B, "--checks", "isolation_list", "--seed", "1"],
            env={},
        )  # fmt: skip
        (trunk,) = [t for t in admin.state()["organizations"][TOKEN_A]["trunks"] if t not in FOREIGN_TRUNKS]
        (journal,) = state_dir.glob("*.json")
        run_id = journal.stem
        kept = json.loads(journal.read_text())
        modes = (stat.S_IMODE(state_dir.stat().st_mode), stat.S_IMODE(journal.stat().st_mode))

        admin.clear_faults()
        swept = CliRunner().invoke(main, ["check", *target, "--cleanup", run_id], env={})
        after = admin.state()
    assert ran.exit_code == 0, ran.output  # the checks passed; only the cleanup could not finish
    assert ran.stdout.rstrip().splitlines()[-1] == (
        f"cleanup of run {run_id}: deleted 0 trunks, restored 0 phone-number links; NOT cleaned up: "
        f"trunk {trunk['id']} (DELETE answered 503) (retry with: sip-trunks check --cleanup {run_id})"
    )
    assert ran.stderr.rstrip().splitlines()[-1] == (
        f"the ledger of run {run_id} is kept in {journal}; sip-trunks check --cleanup {run_id} reads it"
    )
    assert kept == {
        "format": 1,
        "target": base_url,
        "run_id": run_id,
        "trunks": [{"org": "first", "id": trunk["id"]}],
        "phone_numbers": [],
    }
    assert modes == (0o700, 0o600)
    assert swept.exit_code == 0, swept.output
    assert swept.stdout.rstrip().splitlines()[-1] == (
        f"cleanup of run {run_id}: deleted 1 trunk, restored 0 phone-number links; nothing left behind"
    )
    assert after == before
    assert list(state_dir.iterdir()) == []
    assert TOKEN_A not in ran.output + swept.output + journal.name
