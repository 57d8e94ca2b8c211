"""What a run reports, as small frozen dataclasses: the engine yields them, reporters print them."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.errors import EXIT_CONFORMANT, ViolationsFound

__all__ = [
    "CheckResult",
    "CheckSkipped",
    "CleanupFinished",
    "Coverage",
    "Event",
    "Failure",
    "FailureFound",
    "OperationCoverage",
    "Progress",
    "RunFinished",
    "RunStarted",
    "SuiteFinished",
    "SuiteStarted",
    "Tallied",
]


@dataclass(frozen=True)
class Failure:
    """One distinct contract violation, ready to show: tokens are already masked."""

    check: str
    # Where it happened, e.g. "POST /sip-trunks" or "model: delete".
    operation: str
    # "expected …, got …", possibly followed by details on further lines.
    message: str
    # curl commands that reproduce it, oldest first; the token appears as $TOKEN.
    steps: tuple[str, ...] = ()
    seed: int = 0
    replay: str = ""

    @property
    def title(self) -> str:
        """The first line of the message."""
        return self.message.splitlines()[0] if self.message else self.check


@dataclass(frozen=True)
class CheckResult:
    """How one check fared over the whole run."""

    name: str
    suite: str
    description: str
    passed: int = 0
    failed: int = 0
    skip_reason: str | None = None

    @property
    def status(self) -> str:
        """``failed`` if anything failed, else ``skipped`` if it never ran, else ``passed``."""
        if self.failed:
            return "failed"
        if self.skip_reason is not None or not self.passed:
            return "skipped"
        return "passed"


@dataclass(frozen=True)
class RunStarted:
    target: str
    embedded: bool
    seed: int
    max_examples: int
    checks: tuple[str, ...]
    run_id: str = ""
    # The safety options in force, e.g. ("read-only", "rate limit 10/s").
    safety: tuple[str, ...] = ()
    # The command that replays the run (keys as environment variables).
    replay: str = ""


@dataclass(frozen=True)
class SuiteStarted:
    suite: str
    description: str


@dataclass(frozen=True)
class Progress:
    """Something is being worked on, e.g. an operation in a schemathesis phase."""

    suite: str
    message: str


@dataclass(frozen=True)
class Tallied:
    """A batch of evaluations of one check: how many passed and how many failed."""

    check: str
    passed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class CheckSkipped:
    """A check could not be run against this target; never counted as passed."""

    check: str
    reason: str


@dataclass(frozen=True)
class FailureFound:
    failure: Failure


@dataclass(frozen=True)
class SuiteFinished:
    suite: str
    elapsed: float


@dataclass(frozen=True)
class CleanupFinished:
    """What the run deleted and put back at its end, and what it could not (with ids)."""

    run_id: str
    deleted: tuple[str, ...] = ()  # trunk ids
    restored: tuple[str, ...] = ()  # phone number ids whose link was put back
    left: tuple[str, ...] = ()  # "trunk <id> (why)", "phone number <id> (why)"
    interrupted: bool = False
    # True for ``--cleanup RUN_ID``, which finds trunks by name prefix.
    sweep: bool = False

    @property
    def clean(self) -> bool:
        return not self.left

    @property
    def line(self) -> str:
        """The run's final line, e.g. ``cleanup of run 3f9a1c2e: deleted 12 trunks, ...``."""
        trunks = "trunk" if len(self.deleted) == 1 else "trunks"
        links = "link" if len(self.restored) == 1 else "links"
        done = f"deleted {len(self.deleted)} {trunks}, restored {len(self.restored)} phone-number {links}"
        if not self.left:
            return f"cleanup of run {self.run_id}: {done}; nothing left behind"
        return (
            f"cleanup of run {self.run_id}: {done}; NOT cleaned up: {'; '.join(self.left)}"
            f" (retry with: sip-trunks check --cleanup {self.run_id})"
        )


@dataclass(frozen=True)
class OperationCoverage:
    """One operation of the spec: the responses it documents, and the statuses the run got from it.

    ``observed`` holds the documented responses seen (``"200"``, or ``"4XX"``/``"default"``
    when only such a key documents the status); ``undocumented`` the statuses seen that no
    response key documents.
    """

    operation: str  # "GET /sip-trunks/{id}"
    documented: tuple[str, ...]
    observed: tuple[str, ...] = ()
    undocumented: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """The documented responses the run never got."""
        return tuple(key for key in self.documented if key not in self.observed)

    @property
    def exercised(self) -> bool:
        """Whether the run got any answer at all from this operation."""
        return bool(self.observed or self.undocumented)


@dataclass(frozen=True)
class Coverage:
    """What a run exercised of the spec: per operation, documented responses observed or not."""

    operations: tuple[OperationCoverage, ...] = ()

    @property
    def documented(self) -> int:
        return sum(len(operation.documented) for operation in self.operations)

    @property
    def observed(self) -> int:
        return sum(len(operation.observed) for operation in self.operations)

    @property
    def percent(self) -> float:
        """The observed share of documented responses, in percent (100 when nothing is documented)."""
        return 100.0 * self.observed / self.documented if self.documented else 100.0

    def below(self, minimum: float) -> bool:
        """Whether the observed share of documented responses is under ``minimum`` percent."""
        return self.observed * 100 < minimum * self.documented

    @property
    def missing(self) -> tuple[tuple[str, str], ...]:
        """(operation, response) for every documented response never observed, in spec order."""
        return tuple((op.operation, key) for op in self.operations for key in op.missing)

    @property
    def line(self) -> str:
        """``coverage: 7/7 operations, 31/45 documented responses (68.9%)``, and undocumented ones."""
        exercised = sum(1 for operation in self.operations if operation.exercised)
        line = (
            f"coverage: {exercised}/{len(self.operations)} operations, "
            f"{self.observed}/{self.documented} documented responses ({_percent(self.percent)})"
        )
        undocumented = [f"{op.operation} {status}" for op in self.operations for status in op.undocumented]
        if undocumented:
            line += f", undocumented: {', '.join(undocumented)}"
        return line


def _percent(value: float) -> str:
    """``68.9%``; never rounded up to 100% (or down to 0%) when it is not quite that."""
    text = f"{value:.1f}"
    if text == "100.0" and value < 100:
        text = "99.9"
    elif text == "0.0" and value > 0:
        text = "0.1"
    return f"{text.removesuffix('.0')}%"


@dataclass(frozen=True)
class RunFinished:
    results: tuple[CheckResult, ...]
    failures: tuple[Failure, ...]
    elapsed: float
    seed: int
    requests: int = 0
    notes: tuple[str, ...] = field(default=())
    cleanup: CleanupFinished | None = None
    coverage: Coverage | None = None
    # ``--min-coverage``: the least observed share of documented responses, in percent.
    min_coverage: float | None = None

    @property
    def coverage_too_low(self) -> bool:
        """Whether ``--min-coverage`` was given and the run stayed under it."""
        if self.min_coverage is None or self.coverage is None:
            return False
        return self.coverage.below(self.min_coverage)

    @property
    def verdict(self) -> str:
        """``CONFORMANT``, ``NOT CONFORMANT``, or ``COVERAGE TOO LOW`` (no failure, under the bar)."""
        if self.failures:
            return "NOT CONFORMANT"
        return "COVERAGE TOO LOW" if self.coverage_too_low else "CONFORMANT"

    @property
    def exit_code(self) -> int:
        """0 when conformant, 1 when any check failed or the coverage is under ``--min-coverage``."""
        if self.failures or self.coverage_too_low:
            return ViolationsFound.exit_code
        return EXIT_CONFORMANT


Event = (
    RunStarted
    | SuiteStarted
    | Progress
    | Tallied
    | CheckSkipped
    | FailureFound
    | SuiteFinished
    | CleanupFinished
    | RunFinished
)
