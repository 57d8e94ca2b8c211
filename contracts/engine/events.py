"""What a run reports, as small frozen dataclasses: the engine yields them, reporters print them."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.errors import EXIT_CONFORMANT, ViolationsFound

__all__ = [
    "CheckResult",
    "CheckSkipped",
    "CleanupFinished",
    "Event",
    "Failure",
    "FailureFound",
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
class RunFinished:
    results: tuple[CheckResult, ...]
    failures: tuple[Failure, ...]
    elapsed: float
    seed: int
    requests: int = 0
    notes: tuple[str, ...] = field(default=())
    cleanup: CleanupFinished | None = None

    @property
    def exit_code(self) -> int:
        """0 when conformant, 1 when any check failed."""
        return ViolationsFound.exit_code if self.failures else EXIT_CONFORMANT


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
