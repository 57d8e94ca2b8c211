"""Let connexion take the mock's bundled specs without checking them again on every start.

connexion checks each spec it is given against the OpenAPI metaschema, in pure-Python
jsonschema: ~35 ms for our two specs, a tenth of the mock's start-up, paid again on every
start and every ``/openapi.json``. Our specs ship with the package and are checked more
strictly by openapi-spec-validator (``tests/openapi``, ``sip-trunks spec``), and by
connexion's own check in ``tests/mock/test_trusted_spec.py``; checking them at run time
finds nothing new.

``trusted_specs()`` skips connexion's check for the specs built inside it, in this context
only (a ``ContextVar``, so other threads and tasks are unaffected): any other connexion app
in the same process is checked exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from connexion.spec import Specification

__all__ = ["trusted_specs"]

_TRUSTING: ContextVar[bool] = ContextVar("sip_trunks_trusted_spec", default=False)
_MARK = "_sip_trunks_trusting"


def _install() -> None:
    """Wrap connexion's check once per process; the wrapper defers to it unless trusting."""
    current = Specification.__dict__["_validate_spec"]
    if getattr(current, _MARK, False):
        return
    check = current.__func__

    def _validate_spec(cls: type[Specification], spec: dict[str, Any]) -> None:
        if not _TRUSTING.get():
            check(cls, spec)

    wrapped = classmethod(_validate_spec)
    setattr(wrapped, _MARK, True)
    Specification._validate_spec = wrapped


@contextmanager
def trusted_specs() -> Iterator[None]:
    """Inside the block, specs given to connexion in this context are not re-checked."""
    _install()
    token = _TRUSTING.set(True)
    try:
        yield
    finally:
        _TRUSTING.reset(token)
