"""connexion's spec check: run here on the bundled specs, skipped at start-up, kept for everyone else."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from connexion.exceptions import InvalidSpecification
from connexion.spec import Specification

from mockserver.http.admin import admin_spec
from mockserver.http.app import product_spec
from mockserver.http.trusted_spec import trusted_specs

# No "version" in info and a path item that is not an object: connexion must refuse it.
BROKEN: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "broken"}, "paths": {"/x": 1}}


@pytest.mark.parametrize("load", [product_spec, admin_spec], ids=["product", "admin"])
def test_the_bundled_specs_pass_connexions_own_check(load: Any) -> None:
    # The check the mock skips at start-up is run here, on every test run, instead.
    Specification.from_dict(load())


def test_a_broken_spec_is_refused_outside_the_block() -> None:
    with pytest.raises(InvalidSpecification):
        Specification.from_dict(BROKEN)


def test_inside_the_block_the_check_is_skipped_and_after_it_is_back() -> None:
    with trusted_specs():
        Specification.from_dict(BROKEN)
    with pytest.raises(InvalidSpecification):
        Specification.from_dict(BROKEN)


def test_other_threads_are_still_checked_while_one_trusts() -> None:
    outcome: list[str] = []

    def build_elsewhere() -> None:
        try:
            Specification.from_dict(BROKEN)
            outcome.append("accepted")
        except InvalidSpecification:
            outcome.append("refused")

    with trusted_specs():
        other = threading.Thread(target=build_elsewhere)
        other.start()
        other.join(10)
    assert outcome == ["refused"]


def test_installing_twice_wraps_connexions_check_once() -> None:
    with trusted_specs():
        first = Specification.__dict__["_validate_spec"]
    with trusted_specs():
        assert Specification.__dict__["_validate_spec"] is first
