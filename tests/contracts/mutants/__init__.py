"""Mutants: the mock with one planted contract defect each, reached only over HTTP.

A mutant is one small object: a ``Store`` subclass that overrides one method (served with
``create_app(config, store=...)``), or a ``Rewriting`` middleware that changes one kind of
request or response. Its docstring says what is wrong. ``CORPUS`` maps each mutant to the
check that must catch it; ``tests/contracts/test_mutants.py`` and ``make mutants`` run it.
The mutants are grouped by kind, one module each: ``leaks``, ``model``, ``isolation``,
``protocol``, ``inputs``, ``robustness``; ``harness`` holds ``Rewriting``, ``corpus`` the rest.
"""

from __future__ import annotations

from .corpus import CORPUS, MAX_TRUNKS, Mutant, Planted, serving
from .harness import App, Message, Receive, Rewriting, Scope, Seen, Send
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

__all__ = [
    "CORPUS",
    "MAX_TRUNKS",
    "App",
    "AuthNotEnforced",
    "CascadeClearsEveryNumber",
    "CreateAnswers200",
    "CreatedAtWithoutMillis",
    "DeepJsonCrashes",
    "DeleteDoesNothing",
    "ErrorsAsPlainJson",
    "IPv6HostRefused",
    "IdUppercasedOnGet",
    "LeakPasswordAsBasicCredentials",
    "LeakPasswordInErrors",
    "LeakPasswordInHeader",
    "LeakPasswordInList",
    "LeakPasswordOnCreate",
    "LeakPasswordOnGet",
    "LinkToOtherOrgsTrunk",
    "ListAsText",
    "ListFirstPageOnly",
    "ListNewestFirst",
    "ListShowsEveryOrganization",
    "MalformedIdIs400",
    "MaxPortCrashes",
    "Message",
    "MixedCaseMediaTypeCrashes",
    "Mutant",
    "NoCascade",
    "NoChallengeOn401",
    "NonLatin1NameCrashes",
    "OtherOrgCanDelete",
    "OtherOrgCanGet",
    "Planted",
    "PortClampedIntoRange",
    "Receive",
    "Rewriting",
    "Scope",
    "Seen",
    "Send",
    "UnknownPropertiesIgnored",
    "UnknownTrunkIs404",
    "WrongDefaultPort",
    "serving",
]
