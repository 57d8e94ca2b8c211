"""The corpus: each mutant with the check that must catch it, and a way to serve it on a loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts.engine.catalog import by_name
from mockserver.domain.store import Store

from .harness import App, Rewriting
from .inputs import (
    IPv6HostRefused,
    MaxPortCrashes,
    NonLatin1NameCrashes,
    PortClampedIntoRange,
    UnknownPropertiesIgnored,
)
from .isolation import LinkToOtherOrgsTrunk, ListShowsEveryOrganization, OtherOrgCanDelete, OtherOrgCanGet
from .leaks import (
    LeakPasswordAsBasicCredentials,
    LeakPasswordInErrors,
    LeakPasswordInHeader,
    LeakPasswordInList,
    LeakPasswordOnCreate,
    LeakPasswordOnGet,
)
from .model import (
    CascadeClearsEveryNumber,
    CreatedAtWithoutMillis,
    DeleteDoesNothing,
    IdUppercasedOnGet,
    ListFirstPageOnly,
    ListNewestFirst,
    NoCascade,
    WrongDefaultPort,
)
from .protocol import (
    AuthNotEnforced,
    CreateAnswers200,
    ErrorsAsPlainJson,
    ListAsText,
    MalformedIdIs400,
    NoChallengeOn401,
    UnknownTrunkIs404,
)
from .robustness import DeepJsonCrashes, MixedCaseMediaTypeCrashes

if TYPE_CHECKING:
    from mockserver import MockConfig

# Far above what any budget creates, as for the CLI's embedded mock: a 409 would only be noise.
MAX_TRUNKS = 1_000_000

Mutant = type[Rewriting] | type[Store]


@dataclass(frozen=True)
class Planted:
    """A mutant of the corpus and the check that must catch it."""

    mutant: Mutant
    check: str
    # The suite the tests run for it, when not the check's own: the one that catches it
    # whatever the seed (the model's edge cases, where generated values may miss).
    within: str | None = None

    @property
    def name(self) -> str:
        return self.mutant.__name__

    @property
    def defect(self) -> str:
        """What is wrong: the first line of the mutant's docstring."""
        return (self.mutant.__doc__ or "").strip().splitlines()[0]

    @property
    def suite(self) -> str:
        """The suite that must catch it."""
        return self.within or by_name(self.check).suite

    def app(self, config: MockConfig) -> App:
        """The mock of ``config`` with this defect planted."""
        from mockserver import create_app

        if issubclass(self.mutant, Store):
            return create_app(config, store=self.mutant(max_trunks=config.max_trunks))
        first, second = config.tokens
        return self.mutant.around(create_app(config), (first, second))


CORPUS: tuple[Planted, ...] = (
    Planted(LeakPasswordOnCreate, "password_never_returned"),
    Planted(LeakPasswordOnGet, "password_never_returned"),
    Planted(LeakPasswordInList, "password_never_returned"),
    Planted(LeakPasswordInErrors, "password_never_returned"),
    Planted(LeakPasswordInHeader, "password_never_returned"),
    Planted(LeakPasswordAsBasicCredentials, "password_never_returned"),
    Planted(WrongDefaultPort, "port_defaults_to_5060"),
    Planted(IdUppercasedOnGet, "get_matches_create"),
    Planted(CreatedAtWithoutMillis, "response_schema_conformance"),
    Planted(DeleteDoesNothing, "delete_removes_trunk"),
    Planted(NoCascade, "delete_cascade"),
    Planted(CascadeClearsEveryNumber, "delete_cascade"),
    Planted(OtherOrgCanGet, "isolation_get"),
    Planted(ListShowsEveryOrganization, "isolation_list"),
    Planted(OtherOrgCanDelete, "isolation_delete"),
    Planted(LinkToOtherOrgsTrunk, "isolation_link"),
    Planted(AuthNotEnforced, "auth_required"),
    Planted(NoChallengeOn401, "auth_required"),
    Planted(CreateAnswers200, "status_code_conformance"),
    Planted(MalformedIdIs400, "unknown_id_is_404"),
    Planted(UnknownTrunkIs404, "unknown_trunk_is_422"),
    Planted(ErrorsAsPlainJson, "problem_details"),
    Planted(ListAsText, "content_type_conformance"),
    Planted(PortClampedIntoRange, "negative_data_rejection"),
    Planted(UnknownPropertiesIgnored, "negative_data_rejection"),
    Planted(IPv6HostRefused, "create_answers_trunk"),
    Planted(NonLatin1NameCrashes, "not_a_server_error", within="model"),
    Planted(MaxPortCrashes, "not_a_server_error"),
    Planted(ListNewestFirst, "list_matches_model"),
    Planted(ListFirstPageOnly, "list_matches_model"),
    Planted(MixedCaseMediaTypeCrashes, "media_type_case_insensitive"),
    Planted(DeepJsonCrashes, "odd_json_is_4xx"),
)


@contextmanager
def serving(
    planted: Planted | None,
    tokens: tuple[str, str],
    *,
    through: bool = False,
    wrap: Callable[[App], App] | None = None,
    latency_ms: float = 0,
) -> Iterator[str]:
    """Serve the mock, with ``planted``'s defect if given, on a loopback port; yields its base URL.

    ``through`` serves the correct mock through the pass-through ``Rewriting`` (a control:
    the middleware alone must not be what the suite catches); ``wrap`` goes around it all.
    ``latency_ms`` is added to every request, as a far-away deployment's round trip.
    """
    from mockserver import MockConfig, create_app, running_mock
    from mockserver.controls.faults import Latency

    latency = Latency(latency_ms, latency_ms) if latency_ms else None
    config = MockConfig(tokens=tokens, access_log=False, max_trunks=MAX_TRUNKS, latency=latency)
    if planted is not None:
        app = planted.app(config)
    else:
        app = Rewriting(create_app(config)) if through else create_app(config)
    if wrap is not None:
        app = wrap(app)
    with running_mock(config, app=app) as mock:
        yield str(mock.base_url)
