"""The checker facing a broken or hostile target: bounded memory and time, untrusted shapes, confined writes.

Each hostile target is a small app on 127.0.0.1 (``hostile_targets``) whose every behaviour
stops by itself; the assertions are on what the checker reports and leaves behind.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from contracts.engine.config import STATE_DIR_ENV
from contracts.engine.verdicts import Violation
from contracts.http.client import Target
from mockserver.client import AdminClient
from sip_trunks_openapi.cli import main

from .conftest import RunChecks
from .helpers import TOKEN_A
from .hostile_targets import (
    Misbehaving,
    Shapes,
    after,
    after_first_create,
    declared_huge,
    drip_body,
    drip_head_server,
    endless_body,
    gets,
    hang,
    throttled,
)
from .mutants.harness import Seen
from .test_end_to_end import ENV, SIP_TRUNKS

# A write may only go to a collection or to one item of it.
CONFINED = re.compile(r"^/(sip-trunks|phone-numbers)(/[^/?#]+)?$")
EVERY_SUITE = "model,sequences,secrets,isolation,robustness,stateless"


def _run_trunks(base_url: str) -> list[dict[str, Any]]:
    """The trunks the check runs left on the mock (their names carry the run prefix)."""
    with AdminClient(base_url) as admin:
        trunks = admin.state()["organizations"][TOKEN_A]["trunks"]
    return [trunk for trunk in trunks if str(trunk.get("name", "")).startswith("sip-trunks-check-")]


def _wrapped(serve: Callable[..., str], wrapper: Callable[[Any], Any]) -> tuple[str, list[Any]]:
    made: list[Any] = []

    def mutant(app: Any) -> Any:
        made.append(wrapper(app))
        return made[-1]

    return serve(mutant=mutant), made


# -- memory: every body read is capped -------------------------------------------------------


@pytest.mark.parametrize("behaviour", [endless_body, declared_huge], ids=["endless", "declared-200MB"])
def test_an_oversized_answer_is_a_violation_and_the_run_goes_on(
    serve: Callable[..., str], run_checks: RunChecks, behaviour: Any
) -> None:
    base_url, made = _wrapped(serve, lambda app: Misbehaving(app, gets("/sip-trunks/"), behaviour))
    finished, _ = run_checks(base_url, "model,stateless", max_examples=3, max_response_size="1MiB")
    too_large = [failure for failure in finished.failures if "1 MiB" in failure.message]
    assert too_large, [failure.message for failure in finished.failures]
    assert {failure.check for failure in too_large} >= {"get_matches_create", "not_a_server_error"}
    if behaviour is declared_huge:  # refused on its Content-Length, before reading any of it
        assert any("200,000,000 bytes (Content-Length)" in failure.message for failure in too_large)
    assert made[0].misbehaved > 1
    assert finished.cleanup is not None and finished.cleanup.clean
    assert _run_trunks(base_url) == []


# -- time: a whole-request deadline --------------------------------------------------------


def test_a_dripped_status_line_ends_at_the_request_deadline() -> None:
    with drip_head_server(interval=0.05) as base_url, Target(base_url, TOKEN_A, timeout=1.0) as target:
        started = time.monotonic()
        with pytest.raises(Violation) as raised:
            target.request("probe", "GET", "/sip-trunks")
        elapsed = time.monotonic() - started
    expected = "expected a whole answer within 1 s, got no whole answer within 1 s"
    assert raised.value.message.startswith(expected)
    assert elapsed < 5  # the head alone would drip for 5 s (1,000 lines at 0.05 s a byte: far longer)


def test_a_dripped_body_ends_at_the_request_deadline(serve: Callable[..., str]) -> None:
    base_url, _ = _wrapped(serve, lambda app: Misbehaving(app, gets("/sip-trunks"), drip_body(0.05)))
    with Target(base_url, TOKEN_A, timeout=1.0) as target:
        started = time.monotonic()
        with pytest.raises(Violation) as raised:
            target.request("list_matches_model", "GET", "/sip-trunks")
        elapsed = time.monotonic() - started
    assert "while reading the body" in raised.value.message
    assert elapsed < 5  # the body alone drips for 70 s


def test_sigterm_against_a_target_that_hangs_after_a_create_ends_with_the_cleanup_line(
    serve: Callable[..., str], state_dir: Path
) -> None:
    base_url, made = _wrapped(serve, lambda app: Misbehaving(app, after_first_create(), hang))
    child = subprocess.Popen(
        [str(SIP_TRUNKS), "check", "--base-url", base_url, "--seed", "3", "--checks", "model",
         "--request-timeout", "60s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**ENV, "SIP_TRUNKS_TOKEN": TOKEN_A, STATE_DIR_ENV: str(state_dir)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not made[0].misbehaved and time.monotonic() < deadline:
            time.sleep(0.05)
        assert made[0].misbehaved, "the run never reached the hanging target"
        child.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, err = child.communicate(timeout=40)
        ended_in = time.monotonic() - signalled
    finally:
        child.kill()
    assert child.returncode == 2
    assert "terminated (SIGTERM)" in err
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("cleanup of run ") and "NOT cleaned up" in last, out
    assert "cleanup deadline passed" in last
    assert "(retry with: sip-trunks check --cleanup " in last
    assert ended_in < 25  # the cleanup's deadline is 10 s; the hanging requests alone would take 60 s each
    assert len(list(state_dir.iterdir())) == 1  # the ledger is kept for --cleanup


# -- 429 for ever ----------------------------------------------------------------------------


def test_a_target_that_answers_429_for_ever_ends_the_run_with_exit_2_and_one_line(
    serve: Callable[..., str], state_dir: Path
) -> None:
    base_url, made = _wrapped(serve, lambda app: Misbehaving(app, after(40), throttled("1")))
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        ["check", "--base-url", base_url, "--seed", "2", "--checks", "model", "--max-rate-limit-wait", "3s"],
        env={"SIP_TRUNKS_TOKEN": TOKEN_A, STATE_DIR_ENV: str(state_dir)},
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    reasons = [line for line in result.stderr.splitlines() if "429" in line]
    assert len(reasons) == 1 and "no verdict" in reasons[0] and "--max-rate-limit-wait" in reasons[0]
    assert "cleanup of run " in result.stdout  # the cleanup ran, and said what it could not do
    assert made[0].misbehaved >= 3
    assert elapsed < 30  # 3 s of waits in all, then a short cleanup


# -- shapes and ids: what the target says is untrusted data -----------------------------------


def _object_ids(seen: Seen) -> None:
    """Lists answer one more item, whose id is an object; phone numbers too."""
    body = seen.json()
    if seen.method != "GET" or seen.status != 200 or not isinstance(body, dict):
        return
    for key in ("trunks", "phone_numbers"):
        if isinstance(body.get(key), list):
            body[key].append({"id": {"an": "object"}, "name": ["not", "a", "name"], "transfer_trunk_id": {}})
            seen.set_json(body)


def test_an_object_id_in_a_list_is_a_violation_never_a_crash_and_nothing_is_left(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url, _ = _wrapped(serve, lambda app: Shapes(app, _object_ids))
    finished, _ = run_checks(base_url, EVERY_SUITE, max_examples=4)
    assert "response_schema_conformance" in {failure.check for failure in finished.failures}
    assert finished.cleanup is not None and finished.cleanup.clean, finished.cleanup
    assert finished.cleanup.deleted
    assert _run_trunks(base_url) == []


STEERING_IDS = ("../../../x", "..", ".", "", "a/../../b", "x?y#z", "%2e%2e", "..%2F..%2Fx")


def _steering_ids(seen: Seen) -> None:
    """Creates answer ids that would steer a naive client's next write out of the collection."""
    body = seen.json()
    if seen.created and isinstance(body, dict):
        body["id"] = STEERING_IDS[len(seen.request_body) % len(STEERING_IDS)]
        seen.set_json(body)
        seen.set_header(b"location", f"/sip-trunks/{body['id']}".encode())


def test_ids_from_the_target_never_steer_a_write_out_of_the_collections(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    base_url, made = _wrapped(serve, lambda app: Shapes(app, _steering_ids))
    finished, _ = run_checks(base_url, EVERY_SUITE, max_examples=4)
    writes = [(method, path) for method, path in made[0].requests if method not in ("GET", "HEAD", "OPTIONS")]
    assert writes
    for method, path in writes:
        assert CONFINED.match(path.split("?", 1)[0]), (method, path)
        segment = path.split("?", 1)[0].split("/")[2:]
        assert not segment or unquote(segment[0]) not in ("", ".", ".."), (method, path)
    assert "create_answers_trunk" in {failure.check for failure in finished.failures}
    cleaned = finished.cleanup
    assert cleaned is not None and cleaned.deleted
    # The ids the target made up are reported, never sent; the real trunks, found by their
    # names in the list, are deleted by their real ids.
    assert cleaned.left
    assert all("cannot name one resource: not sent in a path" in item for item in cleaned.left)
    assert _run_trunks(base_url) == []


ODD_VALUES: tuple[Any, ...] = (None, {}, [], 0, -1, "x", "..", True, {"id": {}}, [[]], 1e308, "\u0000")


def _shape_shifter(seed: int) -> Callable[[Seen], None]:
    """Answers with a random value of the JSON tree replaced by an odd one, one time in three."""
    draw = random.Random(seed)

    def change(seen: Seen) -> None:
        body = seen.json()
        if body is None or draw.random() > 1 / 3:
            return
        slots: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            items = (
                node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
            )
            for key, value in list(items):
                slots.append((node, key))
                walk(value)

        walk(body)
        if not slots:
            seen.set_json(draw.choice(ODD_VALUES))
            return
        node, key = draw.choice(slots)
        node[key] = draw.choice(ODD_VALUES)
        seen.set_json(body)

    return change


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answers_of_any_shape_are_violations_never_a_crash_and_the_cleanup_always_reports(
    serve: Callable[..., str], run_checks: RunChecks, seed: int
) -> None:
    base_url, _ = _wrapped(serve, lambda app: Shapes(app, _shape_shifter(seed)))
    finished, _ = run_checks(base_url, EVERY_SUITE, max_examples=3, seed=seed)
    assert finished.failures
    assert finished.cleanup is not None
    assert all(failure.message for failure in finished.failures)
