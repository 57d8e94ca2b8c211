"""curl reproductions: API keys appear as shell variables, never in clear."""

from __future__ import annotations

import shlex

from contracts.http.curl import Masker, render

MASKER = Masker.for_tokens("sk-live-123", "sk-other-456")


def test_the_token_becomes_a_variable_the_shell_expands() -> None:
    command = render("GET", "http://api/sip-trunks", {"Authorization": "Bearer sk-live-123"}, None, MASKER)
    assert command == 'curl -X GET -H "Authorization: Bearer $TOKEN" http://api/sip-trunks'
    assert "sk-live-123" not in command


def test_a_json_body_and_the_second_token_are_quoted_for_the_shell() -> None:
    command = render(
        "POST",
        "http://api/sip-trunks",
        [("Authorization", "Bearer sk-other-456"), ("Content-Type", "application/json"), ("User-Agent", "x")],
        b'{"name": "it\'s"}',
        MASKER,
    )
    assert shlex.split(command) == [
        "curl", "-X", "POST",
        "-H", "Authorization: Bearer $SECOND_TOKEN",
        "-H", "Content-Type: application/json",
        "--data-binary", '{"name": "it\'s"}',
        "http://api/sip-trunks",
    ]  # fmt: skip


def test_bytes_that_are_not_text_keep_their_exact_value() -> None:
    command = render("POST", "http://api/sip-trunks", {}, b"\xff\x00'a", MASKER)
    assert "--data-binary $'\\xff\\x00\\x27a'" in command


def test_mask_replaces_every_occurrence() -> None:
    assert MASKER.mask("a sk-live-123 b sk-other-456") == "a $TOKEN b $SECOND_TOKEN"
