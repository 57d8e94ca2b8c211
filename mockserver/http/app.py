"""The app factory: one connexion ``AsyncApp`` serving the product spec and the admin spec over one store."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.options import SwaggerUIOptions
from connexion.security import BearerSecurityHandler

from mockserver.config import MockConfig
from mockserver.domain.store import Store
from mockserver.http import problems
from mockserver.http.admin import admin_spec
from mockserver.http.fastpath import FastPathMiddleware
from mockserver.http.handlers import resolver
from mockserver.http.middleware.access_log import AccessLogMiddleware, LineWriter
from mockserver.http.middleware.body_limit import BodyLimitMiddleware
from mockserver.http.middleware.media_type import MediaTypeMiddleware
from mockserver.http.middleware.spec_cache import SpecDocumentCache
from mockserver.http.middleware.trailing_slash import TrailingSlashMiddleware
from mockserver.http.paths import ADMIN_BASE_PATH, SPEC_DOCUMENT_PATH, UI_PATH
from mockserver.http.trusted_spec import trusted_specs
from mockserver.http.validation import VALIDATOR_MAP, RequestValidation
from sip_trunks_openapi import load_spec

__all__ = ["create_app", "token_verifier"]

# connexion logs every problem it answers (a 400, a 404...) as a warning and ships no handler:
# without one, Python's last-resort handler prints them to the stderr of any program that
# embeds the mock. A NullHandler is what a library adds; configured logging still gets them.
logging.getLogger("connexion").addHandler(logging.NullHandler())

# Built per request by connexion, the same every time: served from memory after the first.
SPEC_DOCUMENTS = frozenset({SPEC_DOCUMENT_PATH, f"{ADMIN_BASE_PATH}{SPEC_DOCUMENT_PATH}"})

TokenInfo = dict[str, Any]
TokenVerifier = Callable[[str], TokenInfo | None]


def token_verifier(tokens: tuple[str, ...]) -> TokenVerifier:
    """Accept any non-empty token, or only ``tokens`` when some are given; the token is ``sub``."""
    allowed = frozenset(tokens)

    def verify(token: str) -> TokenInfo | None:
        token = token.strip()
        if not token or (allowed and token not in allowed):
            return None
        return {"sub": token}

    return verify


def _bearer_handler(verify: TokenVerifier) -> type[BearerSecurityHandler]:
    # connexion instantiates security handlers itself, so the verifier is bound in a subclass.
    class Bearer(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> TokenVerifier:
            return verify

    return Bearer


@functools.cache
def _product_spec() -> dict[str, Any]:
    # Parsed once per process: start-up counts, and the same document feeds the Allow table
    # and connexion.
    return load_spec()


def product_spec() -> dict[str, Any]:
    """The product OpenAPI document as a dict (``$ref`` left as they are); a copy per call."""
    return copy.deepcopy(_product_spec())


def middlewares(
    config: MockConfig, table: problems.AllowTable, access_log: LineWriter | None = None
) -> list[Any]:
    """The whole middleware stack, outermost first: the one place to add a layer."""
    stack: list[Any] = list(ConnexionMiddleware.default_middlewares)
    stack[stack.index(RequestValidationMiddleware)] = RequestValidation
    # Inside the exception middleware, so the problems they raise become responses.
    position = stack.index(MiddlewarePosition.BEFORE_SWAGGER.value)
    stack[position:position] = [
        functools.partial(BodyLimitMiddleware, max_bytes=config.max_body_bytes),
        functools.partial(TrailingSlashMiddleware, table=table),
        MediaTypeMiddleware,
        functools.partial(SpecDocumentCache, paths=SPEC_DOCUMENTS),
        # Last of ours: what it serves skips connexion's layers below it, so layers that must
        # see every request (journal, faults, rate limits) go above this line.
        FastPathMiddleware,
    ]
    # Outside connexion's stack: the journal sees every answer, and a fault can drop the
    # connection through the server's own receive (see mockserver/controls/middleware.py).
    from mockserver.controls.middleware import ControlsMiddleware, build_controls

    stack.insert(0, functools.partial(ControlsMiddleware, controls=build_controls(config)))
    if config.admin_token is not None:
        from mockserver.http.middleware.admin_auth import AdminAuthMiddleware

        stack.insert(0, functools.partial(AdminAuthMiddleware, token=config.admin_token))
    if config.access_log:
        stack.insert(0, functools.partial(AccessLogMiddleware, write=access_log))
    return stack


def create_app(
    config: MockConfig | None = None, *, store: Store | None = None, access_log: LineWriter | None = None
) -> AsyncApp:
    """Build the mock: the product API at ``/``, Swagger UI at ``/ui``, the admin API at ``/__admin``.

    ``store`` defaults to a new empty ``Store`` with ``config.max_trunks`` and
    ``config.max_organizations``, never evicting the organizations of ``config.tokens`` (a
    given store keeps its own caps); with a ``config.seed_file`` the seed is loaded into it and becomes
    what ``reset()`` returns to. Swagger UI is at ``/ui/``, the spec at ``/openapi.json``
    (the admin API's at ``/__admin/ui/`` and ``/__admin/openapi.json``). Access lines go to
    ``access_log`` when given, else to the ``mockserver.access`` logger.
    """
    config = config or MockConfig()
    if store is None:
        store = Store(
            max_trunks=config.max_trunks, max_organizations=config.max_organizations, keep=config.tokens
        )
    if config.seed_file is not None:
        from mockserver.seed import apply_seed

        apply_seed(store, config.seed_file)

    spec = product_spec()
    table = problems.AllowTable.from_specs([("", spec), (ADMIN_BASE_PATH, admin_spec())])
    app = AsyncApp(
        __name__,
        middlewares=middlewares(config, table, access_log),
        resolver=resolver(store),
        validator_map=VALIDATOR_MAP,
        validate_responses=config.validate_responses,
        strict_validation=True,
    )
    with trusted_specs():
        app.add_api(
            spec,
            base_path="",
            security_map={"bearer": _bearer_handler(token_verifier(config.tokens))},
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path=UI_PATH, spec_path=SPEC_DOCUMENT_PATH),
        )
        app.add_api(admin_spec(), base_path=ADMIN_BASE_PATH, name="admin")
    problems.register(app, table)
    return app
