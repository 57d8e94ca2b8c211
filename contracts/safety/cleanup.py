"""Undo a run: put back the phone numbers it changed, then delete every trunk it created.

Driven by the run's ``Ledger`` (``contracts.safety.ledger``) at the end of a run, whatever ended it,
and by ``sip-trunks check --cleanup RUN_ID``. Best effort, request by request, under a
deadline; what cannot be done is reported with its id and the answer that stopped it.
Everything read from the target is untrusted: an id that is not a string, or that cannot
be one path segment, is reported as left, never sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contracts.engine.events import CleanupFinished
from contracts.http.bounded import DeadlineExceeded
from contracts.http.paths import UnsafeId, phone_path, trunk_path
from contracts.safety.ledger import Ledger

if TYPE_CHECKING:
    from contracts.http.client import Exchange, Target

__all__ = ["cleanup"]

# Attempts per clean-up request: 5xx and dropped connections are retried after a short pause.
CLEANUP_ATTEMPTS = 3
CLEANUP_PAUSE = 0.2


class _DeadlinePassed(Exception):
    """The cleanup's deadline has passed: what is not done yet is left."""


@dataclass
class _Outcome:
    deleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    # Nothing more to do for these: done, already as they were, or gone.
    settled_trunks: set[str] = field(default_factory=set)
    settled_phones: set[tuple[str, str]] = field(default_factory=set)


def cleanup(
    ledger: Ledger,
    targets: Mapping[str, Target],
    *,
    interrupted: bool = False,
    sweep: bool = False,
    not_after: float | None = None,
) -> CleanupFinished:
    """Put back the phone numbers the run changed, then delete every trunk it created.

    Best effort, request by request: what cannot be done is reported with its id and the
    answer that stopped it. ``not_after`` (a ``time.monotonic()`` value) ends it, a request
    in flight included; a second Ctrl-C stops it too; what is left is reported, and no
    error of its own ends it without its line. The ledger's journal is removed when nothing
    is left, else it keeps just what is left.
    """
    outcome = _Outcome()
    for target in targets.values():
        target.not_after = not_after
    try:
        for org, target in targets.items():
            _restore_phones(ledger, org, target, outcome)
        for org, target in targets.items():
            _delete_trunks(ledger, org, target, outcome)
    except KeyboardInterrupt:
        outcome.left += [f"{item} (cleanup interrupted)" for item in _unsettled(ledger, outcome, targets)]
    except _DeadlinePassed:
        outcome.left += [f"{item} (cleanup deadline passed)" for item in _unsettled(ledger, outcome, targets)]
    except Exception as exc:  # a bug must not hide what is left
        reason = f"cleanup failed: {type(exc).__name__}: {exc}"
        outcome.left += [f"{item} ({reason})" for item in _unsettled(ledger, outcome, targets)]
    else:
        outcome.left += [
            f"{item} (organization {org}: no key for it in this run)"
            for item, org in _unsettled(ledger, outcome, targets, without_target=True).items()
        ]
    left = tuple(dict.fromkeys(outcome.left))
    _settle_journal(ledger, outcome, clean=not left)
    return CleanupFinished(
        run_id=ledger.run_id,
        deleted=tuple(outcome.deleted),
        restored=tuple(outcome.restored),
        left=left,
        interrupted=interrupted,
        sweep=sweep,
    )


def _unsettled(
    ledger: Ledger, outcome: _Outcome, targets: Mapping[str, Target], *, without_target: bool = False
) -> dict[str, str]:
    """What the cleanup did not get to ("phone number <id>", "trunk <id>"), with its organization.

    ``without_target``: only what belongs to an organization the cleanup has no key for
    (a journal of a run with ``--second-token``, swept without it).
    """
    phones = {
        f"phone number {phone_id}": org
        for org, phone_id in ledger.phones_changed
        if (org, phone_id) not in outcome.settled_phones
    }
    trunks = {
        f"trunk {trunk_id}": org
        for trunk_id, (org, _) in ledger.trunks.items()
        if trunk_id not in outcome.settled_trunks
    }
    return {
        item: org for item, org in {**phones, **trunks}.items() if not without_target or org not in targets
    }


def _settle_journal(ledger: Ledger, outcome: _Outcome, *, clean: bool) -> None:
    """Remove the journal after a clean cleanup; else keep in it only what is still to do.

    Settled entries go: a later ``--cleanup`` must not put back a link someone has set since.
    """
    journal = ledger.journal
    if journal is None:
        return
    if clean:
        journal.remove()
        ledger.journal = None  # nothing after the cleanup may bring the file back
    else:
        journal.save(ledger.document(outcome.settled_trunks, outcome.settled_phones))


def _send(target: Target, method: str, path: str, body: object | None = None) -> Exchange | str:
    """One clean-up request, retried on 5xx or no answer; the exchange, or why it got none.

    A request that timed out is not retried: a target that hangs would take the whole deadline.
    """
    from contracts.engine.verdicts import Violation

    reason = "no answer"
    for attempt in range(CLEANUP_ATTEMPTS):
        if attempt:
            _pause(target, CLEANUP_PAUSE * attempt)
        elif target.not_after is not None and time.monotonic() >= target.not_after:
            raise _DeadlinePassed
        try:
            exchange = target.request("cleanup", method, path, json_body=body)
        except Violation as exc:
            reason = exc.message.removeprefix("expected an HTTP answer, got ")
            if isinstance(exc.__cause__, DeadlineExceeded):  # the target hangs: a retry would too
                if target.not_after is not None and time.monotonic() >= target.not_after:
                    raise _DeadlinePassed from None
                return reason
            continue
        if exchange.status < 500:
            return exchange
        reason = f"{method} answered {exchange.status}"
    return reason


def _pause(target: Target, seconds: float) -> None:
    """Sleep before a retry, unless that would pass the cleanup's deadline."""
    if target.not_after is not None and time.monotonic() + seconds >= target.not_after:
        raise _DeadlinePassed
    time.sleep(seconds)


def _listed(target: Target, path: str, key: str) -> list[dict[str, Any]] | None:
    answer = _send(target, "GET", path)
    if isinstance(answer, str) or answer.status != 200:
        return None
    try:
        items = answer.json().get(key)
    except (ValueError, AttributeError):
        return None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else None


def _restore_phones(ledger: Ledger, org: str, target: Target, outcome: _Outcome) -> None:
    changed = {phone: before for (owner, phone), before in ledger.phones_changed.items() if owner == org}
    if not changed:
        return
    listed = _listed(target, "/phone-numbers", "phone_numbers")
    current = {
        item["id"]: item.get("transfer_trunk_id") for item in listed or [] if isinstance(item.get("id"), str)
    }
    for phone_id, before in changed.items():
        if listed is not None and phone_id in current and current[phone_id] == before:
            outcome.settled_phones.add((org, phone_id))
            continue
        try:
            path = phone_path(phone_id)
        except UnsafeId as exc:
            outcome.left.append(f"phone number {phone_id!r} ({exc})")
            continue
        answer = _send(target, "PATCH", path, {"transfer_trunk_id": before})
        if isinstance(answer, str):
            outcome.left.append(f"phone number {phone_id} (link to {before}: {answer})")
        elif answer.status in (200, 404):  # 404: the phone number is gone, nothing to put back
            outcome.settled_phones.add((org, phone_id))
            if answer.status == 200:
                outcome.restored.append(phone_id)
        else:
            outcome.left.append(f"phone number {phone_id} (link to {before}: PATCH answered {answer.status})")


def _delete_trunks(ledger: Ledger, org: str, target: Target, outcome: _Outcome) -> None:
    listed = _listed(target, "/sip-trunks", "trunks")
    mine = [tid for tid, (owner, _) in ledger.trunks.items() if owner == org]
    if listed is not None:
        ledger.listed(org, listed)  # picks up trunks named with the run's prefix
        present = {item["id"] for item in listed if isinstance(item.get("id"), str)}
        mine = [tid for tid, (owner, _) in ledger.trunks.items() if owner == org]
        # Gone: unlisted and deleted (204/404) during the run. A list is the target's word,
        # and a broken one may omit a trunk that is there: those are deleted anyway.
        gone = {tid for tid in mine if tid not in present and tid in ledger.gone}
        outcome.settled_trunks.update(gone)
        ours = [tid for tid in mine if tid not in gone]
    else:  # no list: try every trunk the run recorded (404 means already gone)
        ours = mine
    for trunk_id in ours:
        try:
            path = trunk_path(trunk_id)
        except UnsafeId as exc:
            outcome.left.append(f"trunk {trunk_id!r} ({exc})")
            continue
        answer = _send(target, "DELETE", path)
        if isinstance(answer, str):
            outcome.left.append(f"trunk {trunk_id} ({answer})")
        elif answer.status in (204, 404):
            outcome.settled_trunks.add(trunk_id)
            if answer.status == 204:
                outcome.deleted.append(trunk_id)
        else:
            outcome.left.append(f"trunk {trunk_id} (DELETE answered {answer.status})")
