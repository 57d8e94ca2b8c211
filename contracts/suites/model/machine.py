"""Suite ``model``: a hypothesis state machine that acts on the target and on ``OrgModel`` alike.

Rules create (with and without port, edge-case valid values), get, delete, get or delete
an unknown id, link and unlink phone numbers, and link to unknown trunks; after every step
the invariants read new trunks back and compare the target's lists with the model. Every
request is valid, so a 5xx answer to any is ``not_a_server_error``. A violation names its
check; the failing program is shrunk for a few seconds and its requests become the
report's curl steps.

With ``--concurrency N`` the programs run in N lanes (``contracts.engine.parallel``), each
a state machine of its own with its own seed, its share of the programs, its own trunks
(named with its prefix, compared by the ids it created) and its own share of the phone
numbers: what one lane does is never in what another compares.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import hypothesis
from hypothesis import HealthCheck, Verbosity
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from contracts.engine.catalog import checks_of
from contracts.engine.context import RunContext
from contracts.engine.events import CheckSkipped, Event, Progress
from contracts.engine.parallel import Lane, lane_seed, run_lanes, shares
from contracts.engine.verdicts import Tally, Violation
from contracts.http.client import Exchange, Target
from contracts.http.paths import phone_path, safe_id, trunk_path
from contracts.safety.ledger import MAX_NAME_LENGTH
from contracts.secrets import SecretBook
from contracts.suites.model import long_list
from contracts.suites.model.long_list import LONG_LIST, short_ids
from contracts.suites.model.state import DEFAULT_PORT, TRUNK_FIELDS, OrgModel, TrunkInput
from contracts.suites.model.strategies import trunk_inputs, unknown_ids

__all__ = ["Harness", "TrunksMachine", "machine_settings", "run"]

CHECKS = checks_of("model")
# Checks of other suites that the machine also evaluates on its own requests.
SERVER_ERROR = "not_a_server_error"
_ALSO = ("location_header", SERVER_ERROR)
_NEEDS_PHONES = ("phone_links_match_model", "unknown_trunk_is_422")
# Seconds hypothesis may spend shrinking a failing program before the best one so far is reported.
SHRINK_SECONDS = 3.0
# Live trunks per program: enough for order and cascade, far below any account's cap.
MAX_LIVE_TRUNKS = 8
STEPS = 12
# Programs each lane runs at least: fewer lanes when there are fewer programs.
MIN_LANE_PROGRAMS = 6


class _ShrinkingOver(BaseException):
    """Ends hypothesis's search for a smaller failing program once its time is spent.

    A ``BaseException``, so hypothesis lets it through instead of taking it for a failure.
    """


@dataclass
class Harness:
    """What the machine acts on; one per run, shared by every program hypothesis tries.

    It also keeps the violations on their way to hypothesis: the report names the check of
    the first one found, with the shortest program seen that breaks that same check.
    """

    target: Target
    book: SecretBook
    tally: Tally
    selected: frozenset[str]
    shrink_seconds: float = SHRINK_SECONDS
    lane: Lane = field(default_factory=Lane)
    # Phone numbers of the account (every lane's); -1 until a program listed them.
    phone_count: int = -1
    first: Violation | None = None
    best: Violation | None = None
    first_at: float = field(default=0.0, repr=False)

    def seen(self, violation: Violation) -> Violation:
        if self.first is None:
            self.first, self.first_at = violation, time.monotonic()
        if violation.check == self.first.check and (
            self.best is None or len(violation.exchanges) < len(self.best.exchanges)
        ):
            self.best = violation
        return violation

    def trunk_name(self, name: str) -> str:
        """The name as the target gets it: the run's prefix, then the lane's (``contracts.safety.ledger``)."""
        name = (self.lane.prefix + name)[:MAX_NAME_LENGTH]
        guard = self.target.guard
        return name if guard is None else guard.ledger.name(name)

    def new_password(self) -> str:
        return self.book.new_password(self.lane.prefix)

    @property
    def phone_writes(self) -> bool:
        """False with ``--no-phone-writes``: no rule may link or unlink a phone number."""
        return self.target.guard is None or self.target.guard.phone_writes

    def keep_going(self) -> None:
        """Stop shrinking when its time is spent (the best program so far gets reported)."""
        if self.first is not None and time.monotonic() - self.first_at > self.shrink_seconds:
            raise _ShrinkingOver


class TrunksMachine(RuleBasedStateMachine):
    """One organization's trunks and phone numbers: the target against ``OrgModel``."""

    harness: ClassVar[Harness]
    trunks = Bundle("trunks")
    phones = Bundle("phones")

    # -- plumbing ---------------------------------------------------------------------------

    def send(self, check: str, method: str, path: str, body: dict[str, Any] | None = None) -> Exchange:
        self.harness.keep_going()
        try:
            exchange = self.harness.target.request(check, method, path, json_body=body)
        except Violation as violation:
            raise self.harness.seen(violation.with_history(self._reproduction(violation.exchanges))) from None
        self.history.append(exchange.trimmed())  # kept for reproductions: the request, not a huge answer
        # Every request of the machine is valid, edge cases included: a 5xx is the server's
        # defect whatever the step (503 is documented as a transient answer).
        self.verify(
            SERVER_ERROR,
            exchange.status < 500 or exchange.status == 503,
            f"no server error for {exchange.label}",
            exchange.describe(),
        )
        return exchange

    def verify(self, check: str, ok: bool, expected: str, got: str) -> None:
        """Count one evaluation of ``check``; raise a violation reproduced by this program's requests.

        Every check is evaluated even when not selected: the program cannot go on past a
        broken step, so the violation is reported whatever its check.
        """
        if ok:
            if check in self.harness.selected:
                self.harness.tally.passed(check)
            return
        raise self.harness.seen(
            Violation.expected(check, expected, got, *self._reproduction(self.history[-1:]))
        )

    def _get_list(self, check: str, path: str, key: str, expected: str) -> tuple[Exchange, list[Any]]:
        """GET a list endpoint; ``check`` fails unless it is 200 with a JSON list under ``key``."""
        listed = self.send(check, "GET", path)
        body = self.body_of(listed)
        items = body.get(key) if isinstance(body, dict) else None
        self.verify(check, listed.status == 200 and isinstance(items, list), expected, listed.describe())
        assert isinstance(items, list)  # verify raised otherwise
        return listed, items

    def _reproduction(self, last: tuple[Exchange, ...] | list[Exchange]) -> tuple[Exchange, ...]:
        # The requests that changed state, then the one that showed the violation.
        changes = [exchange for exchange in self.history if exchange.method != "GET"]
        return tuple(exchange for exchange in changes if exchange not in last) + tuple(last)

    @staticmethod
    def body_of(exchange: Exchange) -> Any:
        try:
            return exchange.json()
        except ValueError:
            return None

    # -- rules ------------------------------------------------------------------------------

    @initialize(target=phones)
    def start(self) -> Any:
        self.model = OrgModel()
        self.history: list[Exchange] = []
        _, numbers = self._get_list(
            "phone_links_match_model", "/phone-numbers", "phone_numbers", "200 with the phone numbers"
        )
        every = {
            item["id"]: item.get("transfer_trunk_id")
            for item in numbers
            if isinstance(item, dict) and safe_id(item.get("id"))
        }
        # This lane's share only: the others link and unlink theirs meanwhile.
        phones = {phone_id: every[phone_id] for phone_id in self.harness.lane.holds(list(every))}
        self.model.start(phones)
        self.harness.phone_count = len(every)
        return multiple(*sorted(phones)) if self.harness.phone_writes else multiple()

    @precondition(lambda self: len(self.model.trunks) < MAX_LIVE_TRUNKS)
    @rule(target=trunks, data=trunk_inputs())
    def create(self, data: TrunkInput) -> str:
        data = dataclasses.replace(data, name=self.harness.trunk_name(data.name))
        password = self.harness.new_password()
        created = self.send("create_answers_trunk", "POST", "/sip-trunks", data.body(password))
        trunk = self.body_of(created)
        self.verify("create_answers_trunk", created.status == 201, "201", created.describe())
        self.verify(
            "create_answers_trunk",
            isinstance(trunk, dict) and set(trunk) == TRUNK_FIELDS,
            f"a trunk with exactly {', '.join(sorted(TRUNK_FIELDS))}",
            created.describe(),
        )
        assert isinstance(trunk, dict)
        expected = data.expected()
        sent = {key: trunk.get(key) for key in expected}
        if data.port is None:
            self.verify(
                "port_defaults_to_5060",
                trunk.get("port") == DEFAULT_PORT,
                "port 5060",
                repr(trunk.get("port")),
            )
            sent["port"] = expected["port"] = DEFAULT_PORT
        self.verify("create_answers_trunk", sent == expected, f"the trunk as sent {expected!r}", repr(sent))
        trunk_id = trunk.get("id")
        self.verify(
            "create_answers_trunk",
            isinstance(trunk.get("created_at"), str),
            "created_at as a string",
            repr(trunk.get("created_at")),
        )
        self.verify(
            "create_answers_trunk",
            safe_id(trunk_id) and trunk_id not in self.model.created,
            "a new id that names one resource",
            repr(trunk_id),
        )
        self.verify(
            "location_header",
            created.header("location") == f"/sip-trunks/{trunk_id}",
            f"Location: /sip-trunks/{trunk_id}",
            repr(created.header("location")),
        )
        self.model.add(trunk)
        return str(trunk_id)

    @rule(trunk_id=trunks)
    def get(self, trunk_id: str) -> None:
        self._read_back(trunk_id)

    def _read_back(self, trunk_id: str) -> None:
        got = self.send("get_matches_create", "GET", trunk_path(trunk_id))
        self.verify("get_matches_create", got.status == 200, "200", got.describe())
        expected = self.model.trunks[trunk_id]
        self.verify(
            "get_matches_create",
            self.body_of(got) == expected,
            f"the trunk as created {expected!r}",
            got.describe(),
        )

    @rule(trunk_id=consumes(trunks))
    def delete(self, trunk_id: str) -> None:
        deleted = self.send("delete_removes_trunk", "DELETE", trunk_path(trunk_id))
        self.verify(
            "delete_removes_trunk",
            deleted.status == 204 and not deleted.body,
            "204 with no body",
            deleted.describe(),
        )
        self.model.delete(trunk_id)
        again = self.send("delete_removes_trunk", "GET", trunk_path(trunk_id))
        self.verify(
            "delete_removes_trunk", again.status == 404, "404 for GET of the deleted trunk", again.describe()
        )
        twice = self.send("delete_removes_trunk", "DELETE", trunk_path(trunk_id))
        self.verify("delete_removes_trunk", twice.status == 404, "404 for a second DELETE", twice.describe())

    @rule(trunk_id=unknown_ids(), method=st.sampled_from(["GET", "DELETE"]))
    def unknown_id(self, trunk_id: str, method: str) -> None:
        answer = self.send("unknown_id_is_404", method, trunk_path(trunk_id))
        self.verify(
            "unknown_id_is_404", answer.status == 404, f"404 for {method} of an unknown id", answer.describe()
        )

    @rule(phone_id=phones, trunk_id=trunks)
    def link(self, phone_id: str, trunk_id: str) -> None:
        self._patch(phone_id, trunk_id)

    @rule(phone_id=phones)
    def unlink(self, phone_id: str) -> None:
        self._patch(phone_id, None)

    @rule(phone_id=phones, trunk_id=unknown_ids().filter(lambda value: len(value) == 36))
    def link_missing(self, phone_id: str, trunk_id: str) -> None:
        patched = self.send(
            "unknown_trunk_is_422", "PATCH", phone_path(phone_id), {"transfer_trunk_id": trunk_id}
        )
        self.verify(
            "unknown_trunk_is_422", patched.status == 422, "422 for an unknown trunk", patched.describe()
        )

    def _patch(self, phone_id: str, trunk_id: str | None) -> None:
        check = "phone_links_match_model"
        patched = self.send(check, "PATCH", phone_path(phone_id), {"transfer_trunk_id": trunk_id})
        body = self.body_of(patched)
        ok = patched.status == 200 and isinstance(body, dict) and body.get("id") == phone_id
        self.verify(
            check,
            ok and body.get("transfer_trunk_id") == trunk_id,
            f"200 with transfer_trunk_id {trunk_id!r}",
            patched.describe(),
        )
        self.model.link(phone_id, trunk_id)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def get_matches_create(self) -> None:
        """Each new trunk reads back as its create returned it (the ``get`` rule reads later)."""
        for trunk_id in self.model.take_unread():
            self._read_back(trunk_id)

    @invariant()
    def list_matches_model(self) -> None:
        listed, items = self._get_list("list_matches_model", "/sip-trunks", "trunks", "200 with a list")
        expected = self.model.listed()
        actual = self.model.restricted(items)
        self.verify(
            "list_matches_model",
            actual == expected,
            f"this run's trunks {short_ids(expected)} oldest first",
            f"{short_ids(actual)}: {listed.describe()}",
        )

    @precondition(lambda self: bool(self.model.phones))
    @invariant()
    def phone_links_match_model(self) -> None:
        listed = self.send("phone_links_match_model", "GET", "/phone-numbers")
        body = self.body_of(listed)
        items = body.get("phone_numbers") if isinstance(body, dict) else None
        actual = {
            item["id"]: item.get("transfer_trunk_id")
            for item in items or []
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        expected = self.model.phones
        actual = {key: value for key, value in actual.items() if key in expected}
        self.verify(
            "phone_links_match_model",
            actual == expected,
            f"transfer_trunk_id by phone number {expected!r}",
            repr(actual),
        )

    def teardown(self) -> None:
        """Delete this program's trunks and put the phone numbers back; best effort."""
        if not hasattr(self, "model"):
            return
        target = self.harness.target
        try:
            for trunk_id in list(self.model.trunks):
                target.request("delete_removes_trunk", "DELETE", trunk_path(trunk_id))
            for phone_id, initial in self.model.initial_phones.items():
                if self.model.phones.get(phone_id) != initial and initial not in self.model.created:
                    target.request(
                        "phone_links_match_model",
                        "PATCH",
                        phone_path(phone_id),
                        json_body={"transfer_trunk_id": initial},
                    )
        except Violation:
            pass  # a clean-up request that fails or leaks shows in the checks' own requests


def machine_settings(max_examples: int) -> hypothesis.settings:
    """Hypothesis settings for a run: bounded, quiet, no database; the seed is set per run."""
    return hypothesis.settings(
        max_examples=max_examples,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )


def run(ctx: RunContext) -> Iterator[Event]:
    selected = frozenset(name for name in ctx.config.checks if name in CHECKS or name in _ALSO)
    examples = max(5, ctx.config.max_examples)
    if "list_matches_model" in selected:
        yield Progress("model", f"the list with {LONG_LIST} new trunks")
        yield from long_list.run(ctx)
    # Hypothesis opens with its simplest programs: a lane needs a few to reach telling ones.
    count = max(1, min(ctx.config.concurrency, examples // MIN_LANE_PROGRAMS))
    lanes = [Lane(index, count) for index in range(count)]
    harnesses = [
        Harness(
            target=ctx.lane_target(lane.index), book=ctx.book, tally=ctx.tally, selected=selected, lane=lane
        )
        for lane in lanes
    ]
    in_lanes = f" in {count} lanes" if count > 1 else ""
    yield Progress("model", f"up to {examples} programs of up to {STEPS} steps{in_lanes}")
    jobs = [
        _programs(harness, lane_seed(ctx.config.seed, harness.lane), share)
        for harness, share in zip(harnesses, shares(examples, count), strict=True)
    ]
    run_lanes(jobs, ctx.guard)
    for violation in _reported(harnesses):
        label = violation.exchanges[-1].label if violation.exchanges else "a step"
        yield ctx.violation(violation, operation=f"model: {label}")
    if {harness.phone_count for harness in harnesses} - {-1} == {0}:
        for name in _NEEDS_PHONES:
            if name in selected:
                yield CheckSkipped(name, "the account has no phone numbers")


def _programs(harness: Harness, seed: int, examples: int) -> Callable[[], None]:
    """One lane's job: up to ``examples`` programs of its own state machine, from ``seed``."""

    def job() -> None:
        machine = type("TrunksMachineRun", (TrunksMachine,), {"harness": harness})
        hypothesis.seed(seed)(machine)
        try:
            run_state_machine_as_test(machine, settings=machine_settings(examples))
        except _ShrinkingOver:
            pass
        except Exception as exc:  # a violation, or one hypothesis could not replay the same way
            if harness.best is None and not any(True for _ in _violations(exc)):
                raise

    return job


def _reported(harnesses: list[Harness]) -> list[Violation]:
    """The violation each lane reports, one per check: the shortest program, the first lane on a tie."""
    best: dict[str, Violation] = {}
    for harness in harnesses:
        found = harness.best
        if found is not None and (
            found.check not in best or len(found.exchanges) < len(best[found.check].exchanges)
        ):
            best[found.check] = found
    return list(best.values())


def _violations(error: BaseException) -> Iterator[Violation]:
    """The violations in what hypothesis raised: the error itself, a group, or its cause.

    A failure hypothesis could not replay the same way (``FlakyStrategyDefinition``,
    ``FlakyFailure``) still carries the violation first seen; it is reported as found.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Violation):
            yield current
            continue
        if isinstance(current, BaseExceptionGroup):
            stack.extend(reversed(current.exceptions))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
