"""Operation handlers, one module per resource, resolved from the specs' operationIds."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from connexion.resolver import Resolver

from mockserver.domain.interface import StateStore
from mockserver.http.handlers import admin, phone_numbers, trunks

__all__ = ["resolver", "snake_case"]

_MODULES: tuple[ModuleType, ...] = (trunks, phone_numbers, admin)


def snake_case(operation_id: str) -> str:
    """``listSipTrunks`` → ``list_sip_trunks``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def resolver(store: StateStore) -> Resolver:
    """A resolver that finds each operationId's handler and binds it to ``store``."""

    def function_resolver(operation_id: str) -> Callable[..., Any]:
        name = snake_case(operation_id)
        for module in _MODULES:
            handler = getattr(module, name, None)
            if handler is not None:
                # connexion reads the signature of the partial, so `store` is not a parameter.
                return functools.partial(handler, store)
        raise ValueError(f"no handler named {name} for operationId {operation_id}")

    return Resolver(function_resolver=function_resolver)
