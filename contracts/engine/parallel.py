"""Lanes: a suite's work cut into independent shares that run at once, one thread each.

A far-away target costs a round trip per request; requests in flight at once hide it.
A suite that can run in lanes gives each lane its own client, its own seed (``lane_seed``)
and its own resources, so that no lane sees another's writes. Every request still passes
the run's one ``Guard``: the rate limit, the budgets and a ``429``'s wait hold for the
whole run, and every trunk created is in the ledger before its answer is used. On Ctrl-C
(or any other reason the run stops) the lanes send nothing more, but each request already
in flight is answered and recorded before the run cleans up: nothing is left behind.

With one lane the work runs in the calling thread, exactly as without lanes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from contracts.safety.guard import Guard

__all__ = ["Emit", "Lane", "lane_seed", "run_lanes", "serialize_parsing", "shares", "stream_lanes"]

T = TypeVar("T")
E = TypeVar("E")
# A lane hands its events to the calling thread through this.
Emit = Callable[[E], None]
# How often the calling thread looks up from waiting, so that Ctrl-C reaches it at once.
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Lane:
    """One lane of ``count``: its index, and what makes its resources its own."""

    index: int = 0
    count: int = 1

    @property
    def prefix(self) -> str:
        """Put before the names of the trunks the lane creates (none with one lane): ``lane3-``."""
        return f"lane{self.index}-" if self.count > 1 else ""

    def holds(self, ids: Sequence[str]) -> list[str]:
        """The lane's own share of ``ids`` (phone numbers): every ``count``-th of them sorted, from its index.

        Disjoint between lanes and the same from run to run; with one lane, all of them.
        """
        return sorted(ids)[self.index :: self.count]


def lane_seed(seed: int, lane: Lane) -> int:
    """The seed of one lane: the run's own with one lane (the programs of a run without lanes).

    >>> lane_seed(2026, Lane(0, 1))
    2026
    """
    if lane.count == 1:
        return seed
    digest = hashlib.sha256(f"sip-trunks-lane:{seed}:{lane.index}:{lane.count}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def shares(total: int, count: int) -> list[int]:
    """``total`` cut into ``count`` shares as even as can be, the first ones larger.

    >>> shares(50, 8)
    [7, 7, 6, 6, 6, 6, 6, 6]
    """
    base, extra = divmod(total, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


_PARSING = threading.Lock()


def serialize_parsing() -> None:
    """Serialize ``ast.parse`` in this process (idempotent); call it before threads run hypothesis.

    Lanes call it before they start; so does the stateless suite before schemathesis's workers.

    Hypothesis reads source code (``inspect.getsource``: a state machine's class, a
    strategy's lambda), which parses it; CPython 3.11 keeps the AST builder's recursion
    depth in state shared by threads, and two threads parsing at once fail with
    ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905).
    """
    if getattr(ast.parse, "_one_at_a_time", False):
        return
    parse = ast.parse

    @functools.wraps(parse)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _PARSING:
            return parse(*args, **kwargs)

    serialized._one_at_a_time = True  # type: ignore[attr-defined]
    ast.parse = serialized


@dataclass
class _Outcome(Generic[T]):
    entered: bool = False  # the lane's thread runs: it may send requests
    done: bool = False
    value: T | None = None
    error: BaseException | None = None


@dataclass
class _Lanes(Generic[T]):
    """Threads running one job each; what each returned or raised."""

    jobs: Sequence[Callable[[], T]]
    guard: Guard | None
    outcomes: list[_Outcome[T]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    finished: queue.Queue[int] = field(default_factory=queue.Queue)

    def start(self) -> None:
        serialize_parsing()
        for index, job in enumerate(self.jobs):
            outcome: _Outcome[T] = _Outcome()
            self.outcomes.append(outcome)
            thread = threading.Thread(
                target=self._run, args=(index, job, outcome), name=f"sip-trunks-lane-{index}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def _run(self, index: int, job: Callable[[], T], outcome: _Outcome[T]) -> None:
        outcome.entered = True
        try:
            outcome.value = job()
        except BaseException as exc:  # handed to the calling thread
            outcome.error = exc
        finally:
            outcome.done = True
            self.finished.put(index)

    @property
    def running(self) -> bool:
        return not all(outcome.done for outcome in self.outcomes)

    def stop(self) -> None:
        """Let the requests in flight be answered and recorded, send no more, wait for every lane.

        Also when Ctrl-C came while the lanes were starting: a lane that runs by now is
        waited for; one that runs later finds the guard halted and sends nothing.
        """
        if self.guard is not None:
            self.guard.halt()
        for thread, outcome in zip(self.threads, self.outcomes, strict=False):
            if outcome.entered:
                thread.join()

    def results(self) -> list[T]:
        """What each job returned, in order; else the error that matters most.

        A spent budget first (the run stops), then an interruption, then the first lane's error.
        """
        from contracts.safety.guard import BudgetExhausted

        errors = [outcome.error for outcome in self.outcomes if outcome.error is not None]
        for kind in (BudgetExhausted, KeyboardInterrupt, BaseException):
            for error in errors:
                if isinstance(error, kind):
                    raise error
        return [outcome.value for outcome in self.outcomes]  # type: ignore[misc]


def run_lanes(jobs: Sequence[Callable[[], T]], guard: Guard | None) -> list[T]:
    """Run each job in a lane of its own (one job: in this thread); what each returned, in order.

    Once every lane has ended, the error of a lane is raised (``_Lanes.results``). On Ctrl-C
    here, or a lane interrupted by Ctrl-C or the budget, the other lanes send nothing more,
    and each request in flight is answered and recorded before this returns.
    """
    if len(jobs) == 1:
        return [jobs[0]()]
    lanes = _Lanes(jobs, guard)
    try:
        lanes.start()
        while lanes.running:
            try:
                index = lanes.finished.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(lanes.outcomes[index].error, KeyboardInterrupt):
                lanes.stop()
    except BaseException:  # Ctrl-C in this thread: stop the lanes before anything else happens
        lanes.stop()
        raise
    return lanes.results()


_DONE = object()


def stream_lanes(
    jobs: Sequence[Callable[[Emit[E]], object]], guard: Guard | None
) -> Generator[E, None, None]:
    """Run each job in a lane of its own and yield the events they emit, as they come.

    Close the iterator (``contextlib.closing``) when leaving it early: the lanes then
    send nothing more and are waited for, as on Ctrl-C. A lane's error is raised once
    every lane has ended.
    """
    events: queue.Queue[object] = queue.Queue()

    def job_of(job: Callable[[Emit[E]], object]) -> Callable[[], None]:
        def lane() -> None:
            try:
                job(events.put)
            finally:
                events.put(_DONE)

        return lane

    lanes = _Lanes([job_of(job) for job in jobs], guard)
    ended = 0
    try:
        lanes.start()
        while ended < len(jobs):
            try:
                event = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if event is _DONE:
                ended += 1
                continue
            yield event  # type: ignore[misc]
    except BaseException:  # Ctrl-C, or the consumer stopped listening
        lanes.stop()
        raise
    lanes.results()
