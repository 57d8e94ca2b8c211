"""The password book: unique passwords, and a search that sees through encodings."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote

import pytest

from contracts.secrets import SecretBook, activate, active_book


@pytest.fixture
def book() -> SecretBook:
    return SecretBook(nonce="n0nce")


def test_passwords_are_unique_and_start_with_the_runs_marker(book: SecretBook) -> None:
    passwords = {book.new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(password.startswith("stkn0ncep") for password in passwords)


def test_the_same_seed_makes_the_same_passwords() -> None:
    assert SecretBook.for_seed(7).new_password() == SecretBook.for_seed(7).new_password()
    assert SecretBook.for_seed(7).new_password() != SecretBook.for_seed(8).new_password()


@pytest.mark.parametrize(
    ("encode", "form"),
    [
        (lambda p: p, "the raw text"),
        (lambda p: json.dumps(p)[1:-1], "the JSON-escaped text"),
        (lambda p: quote(p, safe=""), "the URL-encoded text"),
        (lambda p: base64.b64encode(p.encode()).decode(), "the base64 text"),
        (lambda p: p.split(" ")[0], "the unique part"),
    ],
    ids=["raw", "json", "url", "base64", "unique-part"],
)
def test_a_password_is_found_in_every_common_form(
    book: SecretBook, encode: Callable[[str], str], form: str
) -> None:
    password = book.new_password()
    body = json.dumps({"detail": "oops"})[:-1] + f', "echo": "{encode(password)}"}}'
    leak = book.find({}, body.encode())
    assert leak is not None
    assert leak.form == form


@pytest.mark.parametrize("username", ["", "u", "us", "usr", "trunk-user"])
def test_a_password_inside_basic_credentials_is_found_whatever_the_username(
    book: SecretBook, username: str
) -> None:
    # base64 of "username:password": the password's bytes start at any offset of a 3-byte group.
    password = book.new_password()
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    leak = book.find({"www-authenticate": f"Basic {credentials}"}, b"{}")
    assert leak is not None
    assert leak.form == "the base64 text"
    assert leak.where == "header www-authenticate"


def test_a_clean_response_has_no_leak(book: SecretBook) -> None:
    book.new_password()
    assert book.find({"content-type": "application/json"}, b'{"trunks": []}') is None


@pytest.mark.parametrize(
    "password",
    ["ééééééééé", "ab\u00e9", "Method Not Allowed", "2026-01-01T00:00:00.000Z"],
    ids=["few-distinct-characters", "too-short", "server-text", "timestamp"],
)
def test_foreign_passwords_that_could_match_by_chance_are_not_searched(
    book: SecretBook, password: str
) -> None:
    assert not book.remember(password)
    assert book.find({}, json.dumps({"title": password}).encode()) is None


def test_a_foreign_password_echoed_as_a_name_is_no_leak_but_elsewhere_is(book: SecretBook) -> None:
    assert book.remember("Pw-9f!kQzé", beside=["Main Trunk"])
    assert book.find({}, json.dumps({"name": "x Pw-9f!kQzé y"}).encode()) is None
    assert book.find({}, json.dumps({"password": "Pw-9f!kQzé"}).encode()) is not None


def test_the_runs_own_password_is_a_leak_even_inside_a_name(book: SecretBook) -> None:
    password = book.new_password()
    assert book.find({}, json.dumps({"name": password}).encode()) is not None


def test_activate_makes_a_book_active_and_restores_the_previous_one(book: SecretBook) -> None:
    assert active_book() is None
    with activate(book):
        assert active_book() is book
    assert active_book() is None


def test_mask_hides_the_runs_passwords_in_every_form_and_any_password_member(book: SecretBook) -> None:
    own = book.new_password()
    assert book.remember("Pw-9f!kQzé-foreign")
    shown = book.mask(
        f"raw {own} | json {json.dumps(own)} | url {quote(own, safe='')} | "
        # A renderer that escaped the tail differently still leaves the unique part: hidden too.
        f'escaped {own.split()[0]} \\"/ | foreign Pw-9f!kQzé-foreign | '
        """{"password": "0", "name": "n"} | {'password': "it's", 'id': 1}"""
    )
    assert book.marker not in shown and "Pw-9f" not in shown
    assert shown == (
        'raw *** | json "***" | url *** | escaped *** \\"/ | foreign *** | '
        """{"password": "***", "name": "n"} | {'password': "***", 'id': 1}"""
    )
