"""A run's ledger on disk, so that ``--cleanup RUN_ID`` can undo even a run killed outright.

``<state dir>/<run id>.json`` is rewritten atomically (a temporary file, ``fsync``, then
``os.replace``) before each request that changes what the ledger tracks goes out. It holds
ids and organization labels (``first``/``second``) only: never a key, a password or a
trunk name. Mode 0600, in a directory created 0700. A clean cleanup removes it; after a
partial one it keeps what is left, and ``--cleanup`` takes it over.

A directory that cannot be written is said once, on stderr (a logging warning), and the
run goes on with the ledger in memory: it still cleans up after everything but a SIGKILL
or a power cut, as before the journal existed; failing the run instead would stop checks
in read-only CI containers for a file that only helps after a crash.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from contracts.safety.ledger import Ledger

if TYPE_CHECKING:
    from contracts.engine.config import CheckConfig

__all__ = ["FORMAT", "RunJournal", "journal_path", "kept_ledger_note", "ledger_for", "public_url"]

FORMAT = 1
_log = logging.getLogger(__name__)


def journal_path(state_dir: Path, run_id: str) -> Path:
    """Where the ledger of run ``run_id`` is kept: ``<state dir>/<run id>.json``."""
    return state_dir / f"{run_id}.json"


def public_url(base_url: str) -> str:
    """``base_url`` without what may be secret (user, password, query, fragment): what a journal names."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class JournalUnusable(ValueError):
    """A journal file that cannot be read, or is of another run or target; left as it is."""


class RunJournal:
    """One run's ledger in a file; after the first failed write it stops trying (and says so once)."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.broken = False

    def prepare(self) -> None:
        """Make the directory (0700) and see that it can be written, before any request is sent.

        Nothing is written yet: a run that changes nothing, or cannot reach its target,
        leaves no file.
        """
        directory = self.path.parent
        try:
            _make_private_dir(directory)
            if not os.access(directory, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied", str(directory))
        except OSError as exc:
            self._give_up(exc)

    def save(self, document: dict[str, Any]) -> None:
        """Replace the file with ``document`` (and the format and target), durably."""
        if self.broken:
            return
        text = json.dumps({"format": FORMAT, "target": self.target, **document}, indent=1)
        try:
            _write_atomically(self.path, text)
        except OSError as exc:
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        self.broken = True
        _log.warning(
            "warning: cannot save the run's ledger in %s (%s); it is kept in memory only, so a run "
            "killed outright (SIGKILL, power cut) could not put phone numbers back; give --state-dir "
            "or SIP_TRUNKS_STATE_DIR a writable directory",
            self.path,
            _reason(exc),
        )

    def remove(self) -> None:
        """Delete the file, and temporary files a killed run may have left next to it."""
        try:
            leftovers = [self.path, *self.path.parent.glob(f".{self.path.stem}.*.tmp")]
            for path in leftovers:
                path.unlink(missing_ok=True)
        except OSError as exc:
            if not self.broken:  # else the directory's trouble was said already
                _log.warning("warning: cannot remove %s (%s); delete it by hand", self.path, _reason(exc))

    def load(self, run_id: str) -> Ledger | None:
        """The ledger the file keeps, None without a file; ``JournalUnusable`` if it is not for this run."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # no journal (prepare says why it cannot be)
            return None
        except OSError as exc:
            raise JournalUnusable(_reason(exc)) from exc
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise ValueError(f"not a ledger of format {FORMAT}")
            ledger = Ledger.from_document(document)
        except ValueError as exc:
            raise JournalUnusable(f"not a ledger: {exc}") from exc
        if ledger.run_id != run_id:
            raise JournalUnusable(f"it is the ledger of run {ledger.run_id}")
        if document.get("target") != self.target:
            raise JournalUnusable(f"it is of a run against {document.get('target')}, not {self.target}")
        return ledger


def kept_ledger_note(state_dir: Path | None, run_id: str) -> str | None:
    """Where the ledger of a run that could not clean up is kept, and what reads it; None without one."""
    if state_dir is None:
        return None
    path = journal_path(state_dir, run_id)
    if not path.is_file():
        return None
    return f"the ledger of run {run_id} is kept in {path}; sip-trunks check --cleanup {run_id} reads it"


def ledger_for(config: CheckConfig, run_id: str) -> Ledger:
    """The ledger of run ``run_id``, journaled in ``config.state_dir`` when the run can change anything.

    What a journal of that run id holds (left by a run that could not clean up) is taken
    over, so that this run's cleanup finishes it. A directory that cannot be written is
    said here, before the first request.
    """
    if config.state_dir is None or config.base_url is None or (config.read_only and config.cleanup is None):
        return Ledger(run_id)
    journal = RunJournal(journal_path(config.state_dir, run_id), public_url(config.base_url))
    try:
        ledger = journal.load(run_id) or Ledger(run_id)
    except JournalUnusable as exc:
        _log.warning(
            "warning: not using %s (%s); it is left as it is, and the run's trunks are found by "
            "their name prefix only",
            journal.path,
            exc,
        )
        return Ledger(run_id)
    journal.prepare()
    ledger.journal = journal
    return ledger


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a 0600 temporary file beside ``path``, flush it to disk, rename it over ``path``."""
    directory = path.parent
    _make_private_dir(directory)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.stem}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    # The rename itself reaches the disk only with the directory (a power cut right after).
    with suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _make_private_dir(directory: Path) -> None:
    """Create ``directory`` with mode 0700 (its missing parents as the umask says); leave an existing one."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        return
    directory.chmod(0o700)  # mkdir's mode goes through the umask


def _reason(exc: OSError) -> str:
    """``NotADirectoryError: Not a directory: /x/y``: the error and the path it is about."""
    if not exc.strerror:
        return f"{type(exc).__name__}: {exc}"
    where = f": {exc.filename}" if exc.filename else ""
    return f"{type(exc).__name__}: {exc.strerror}{where}"
