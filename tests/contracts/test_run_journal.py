"""The run's ledger on disk: written ahead of each change, ids only, private, kept until all is undone."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.engine.config import CheckConfig, default_state_dir
from contracts.http.client import Target
from contracts.safety.cleanup import cleanup
from contracts.safety.guard import Guard
from contracts.safety.journal import RunJournal, journal_path, ledger_for, public_url
from contracts.safety.ledger import FIRST, SECOND, Ledger

RUN = "0badc0de"
KEY = "key-1-secret"
PHONE, OTHER_PHONE = "a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002"
TRUNK, OTHER_TRUNK = "0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b", "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
FOREIGN = "11111111-2222-4333-8444-555555555555"


def config(state_dir: Path, **options: Any) -> CheckConfig:
    options.setdefault("base_url", "http://127.0.0.1:4010")
    return CheckConfig.from_options(token=KEY, state_dir=state_dir, environ={}, **options)


class FakeJournal:
    """Remembers what a ledger saved and whether it was removed."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []
        self.removed = False

    def save(self, document: dict[str, Any]) -> None:
        self.saved.append(document)

    def remove(self) -> None:
        self.removed = True


def test_a_phone_numbers_link_is_on_disk_before_the_patch_that_changes_it_is_sent(tmp_path: Path) -> None:
    ledger = ledger_for(config(tmp_path), RUN)
    on_disk_when_patched: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            on_disk_when_patched.append(json.loads(journal_path(tmp_path, RUN).read_text())["phone_numbers"])
            return httpx.Response(200, json={"id": PHONE, "transfer_trunk_id": TRUNK})
        return httpx.Response(200, json={"phone_numbers": [{"id": PHONE, "transfer_trunk_id": FOREIGN}]})

    guard = Guard(ledger, {KEY: FIRST})
    with Target("http://127.0.0.1:4010", KEY, transport=httpx.MockTransport(answer), guard=guard) as target:
        target.request("t", "GET", "/phone-numbers")
        assert not journal_path(tmp_path, RUN).exists()  # nothing changed yet: no file
        target.request("t", "PATCH", f"/phone-numbers/{PHONE}", json_body={"transfer_trunk_id": TRUNK})
        target.request("t", "PATCH", f"/phone-numbers/{PHONE}", json_body={"transfer_trunk_id": None})
    expected = [{"org": "first", "id": PHONE, "transfer_trunk_id": FOREIGN}]
    assert on_disk_when_patched == [expected, expected]  # the first link, as before the run changed it


def test_a_journal_holds_ids_and_organization_labels_only_in_a_private_file(tmp_path: Path) -> None:
    state_dir = tmp_path / "state" / "runs"
    base_url = "https://user:pa55word@API.example.com:8443/v1/?api_key=k-in-query#frag"
    ledger = ledger_for(config(state_dir, base_url=base_url, second_token="key-2-secret"), RUN)
    ledger.created(FIRST, TRUNK, f"sip-trunks-check-{RUN}-trunk with a generated name")
    ledger.phones(SECOND, [{"id": PHONE, "transfer_trunk_id": None}])
    ledger.phone_written(SECOND, PHONE)
    path = journal_path(state_dir, RUN)
    text = path.read_text()
    assert json.loads(text) == {
        "format": 1,
        "target": "https://api.example.com:8443/v1",
        "run_id": RUN,
        "trunks": [{"org": "first", "id": TRUNK}],
        "phone_numbers": [{"org": "second", "id": PHONE, "transfer_trunk_id": None}],
    }
    for secret in ("key-1", "key-2", "pa55word", "user", "k-in-query", "generated name"):
        assert secret not in text
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in state_dir.iterdir()] == [path.name]  # no temporary file left


def test_a_state_dir_that_cannot_be_written_is_said_once_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a file where a directory should be: fails even for root
    with caplog.at_level(logging.WARNING, logger="contracts.safety.journal"):
        ledger = ledger_for(config(blocker / "runs"), RUN)
        ledger.created(FIRST, TRUNK)
        ledger.phones(FIRST, [{"id": PHONE, "transfer_trunk_id": None}])
        ledger.phone_written(FIRST, PHONE)
    (warning,) = caplog.messages
    assert warning.startswith(f"warning: cannot save the run's ledger in {blocker}/runs/{RUN}.json (")
    assert warning.endswith("give --state-dir or SIP_TRUNKS_STATE_DIR a writable directory")
    assert ledger.trunks == {TRUNK: (FIRST, "")}  # the ledger in memory still has everything
    assert ledger.phones_changed == {(FIRST, PHONE): None}


def test_cleanup_removes_the_journal_when_all_is_undone_else_keeps_only_what_is_left() -> None:
    ledger = Ledger(RUN)
    ledger.created(FIRST, TRUNK)
    ledger.created(FIRST, OTHER_TRUNK)
    ledger.phones(
        FIRST, [{"id": PHONE, "transfer_trunk_id": None}, {"id": OTHER_PHONE, "transfer_trunk_id": None}]
    )
    ledger.phone_written(FIRST, PHONE)
    ledger.phone_written(FIRST, OTHER_PHONE)
    journal = FakeJournal()
    ledger.journal = journal
    failing = {f"/phone-numbers/{OTHER_PHONE}", f"/sip-trunks/{OTHER_TRUNK}"}
    linked = [
        {"id": PHONE, "transfer_trunk_id": TRUNK},
        {"id": OTHER_PHONE, "transfer_trunk_id": OTHER_TRUNK},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path in failing:
            return httpx.Response(409)
        if request.method == "GET" and request.url.path == "/phone-numbers":
            return httpx.Response(200, json={"phone_numbers": linked})
        if request.method == "GET":
            return httpx.Response(200, json={"trunks": [{"id": TRUNK}, {"id": OTHER_TRUNK}]})
        return httpx.Response(204 if request.method == "DELETE" else 200, json={})

    with Target("http://127.0.0.1:4010", KEY, transport=httpx.MockTransport(answer)) as target:
        partial = cleanup(ledger, {FIRST: target})
        assert (partial.deleted, partial.restored) == ((TRUNK,), (PHONE,))
        # A later --cleanup must not put back a link that was restored (someone may have set it since).
        assert journal.saved[-1] == {
            "run_id": RUN,
            "trunks": [{"org": "first", "id": OTHER_TRUNK}],
            "phone_numbers": [{"org": "first", "id": OTHER_PHONE, "transfer_trunk_id": None}],
        }
        assert not journal.removed
        failing.clear()
        assert cleanup(ledger, {FIRST: target}).clean
    assert journal.removed and ledger.journal is None


def test_cleanup_run_id_takes_over_the_journal_and_names_what_needs_the_second_key(tmp_path: Path) -> None:
    left = Ledger(RUN)
    left.created(SECOND, TRUNK)
    RunJournal(journal_path(tmp_path, RUN), "http://127.0.0.1:4010").save(left.document())
    ledger = ledger_for(config(tmp_path, cleanup=RUN), RUN)
    assert ledger.trunks == {TRUNK: (SECOND, "")}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"trunks": []})

    with Target("http://127.0.0.1:4010", KEY, transport=httpx.MockTransport(answer)) as target:
        finished = cleanup(ledger, {FIRST: target}, sweep=True)
    assert finished.left == (f"trunk {TRUNK} (organization second: no key for it in this run)",)
    assert json.loads(journal_path(tmp_path, RUN).read_text())["trunks"] == [{"org": "second", "id": TRUNK}]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            {"target": "https://other.example.com"},
            "it is of a run against https://other.example.com, not http://127.0.0.1:4010",
        ),
        ({"run_id": "feedf00d"}, "it is the ledger of run feedf00d"),
        (
            {"trunks": [{"org": "first", "id": "../phone-numbers/x"}]},
            "not a ledger: bad trunk entry {'org': 'first', 'id': '../phone-numbers/x'}",
        ),
        ({"format": 2}, "not a ledger: not a ledger of format 1"),
    ],
    ids=["other-target", "other-run", "path-in-an-id", "unknown-format"],
)
def test_a_journal_of_another_target_or_run_or_not_sound_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, document: dict[str, Any], reason: str
) -> None:
    path = journal_path(tmp_path, RUN)
    base = {"format": 1, "target": "http://127.0.0.1:4010", "run_id": RUN, "trunks": [], "phone_numbers": []}
    path.write_text(text := json.dumps({**base, **document}))
    with caplog.at_level(logging.WARNING, logger="contracts.safety.journal"):
        ledger = ledger_for(config(tmp_path, cleanup=RUN), RUN)
    assert ledger.journal is None and not ledger.trunks
    (warning,) = caplog.messages
    assert warning == (
        f"warning: not using {path} ({reason}); it is left as it is, and the run's trunks are found "
        "by their name prefix only"
    )
    assert path.read_text() == text


def test_no_journal_for_the_embedded_mock_or_a_read_only_run(tmp_path: Path) -> None:
    embedded = CheckConfig.from_options(state_dir=tmp_path, environ={})
    assert embedded.state_dir is None
    assert ledger_for(embedded, RUN).journal is None
    assert ledger_for(config(tmp_path, read_only=True), RUN).journal is None
    assert isinstance(ledger_for(config(tmp_path), RUN).journal, RunJournal)


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        ("/opt/runs", {"SIP_TRUNKS_STATE_DIR": "/env/runs", "XDG_STATE_HOME": "/xdg"}, "/opt/runs"),
        (None, {"SIP_TRUNKS_STATE_DIR": "/env/runs", "XDG_STATE_HOME": "/xdg"}, "/env/runs"),
        (None, {"XDG_STATE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/sip-trunks-kit/runs"),
        (None, {"XDG_STATE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.local/state/sip-trunks-kit/runs"),
        (None, {"HOME": "/home/u"}, "/home/u/.local/state/sip-trunks-kit/runs"),
    ],
    ids=["option", "env", "xdg", "relative-xdg-ignored", "home"],
)
def test_where_journals_go(option: str | None, environ: dict[str, str], expected: str) -> None:
    assert default_state_dir(environ, option) == Path(expected)


def test_the_journals_target_has_nothing_that_may_be_secret() -> None:
    assert public_url("https://u:p@[::1]:8443/v1/?k=1#f") == "https://[::1]:8443/v1"
    assert public_url("http://127.0.0.1:4010") == "http://127.0.0.1:4010"
