"""The proxy's own surface: /__proxy/ endpoints, --enforce, masked lines, reports on SIGTERM, the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from sip_trunks_openapi.cli import main

from .helpers import TOKEN_A, TOKEN_B
from .mutants.corpus import CORPUS, Planted, serving
from .mutants.harness import TRUNK_PATH, Rewriting, Seen
from .proxy_traffic import PASSWORD, TRUNK, client, watching

SIP_TRUNKS = Path(sys.executable).with_name("sip-trunks")
ENV = {key: value for key, value in os.environ.items() if not key.startswith("SIP_TRUNKS_")}


def planted(name: str) -> Planted:
    return next(item for item in CORPUS if item.name == name)


# -- /__proxy/ -------------------------------------------------------------------------------------


def test_the_violations_endpoint_lists_them_as_data_and_delete_empties_it() -> None:
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        http.post("/sip-trunks", json=TRUNK)
        http.post("/sip-trunks", json={**TRUNK, "port": 0})
        listed = http.get("/__proxy/violations").json()
        health = http.get("/__proxy/health").json()
        emptied = http.delete("/__proxy/violations")
        after = http.get("/__proxy/violations").json()
        refused = http.post("/__proxy/violations")
        unknown = http.get("/__proxy/nothing")
    (violation,) = listed["violations"]
    assert {key: violation[key] for key in ("side", "check", "method", "path", "status")} == {
        "side": "client",
        "check": "request_body_schema",
        "method": "POST",
        "path": "/sip-trunks",
        "status": 400,
    }
    assert violation["detail"] == "expected a body matching the schema, got port breaking the rule minimum"
    assert violation["time"].endswith("Z")
    assert (listed["count"], listed["dropped"], listed["exchanges"]) == (1, 0, 2)
    assert listed["by_check"] == {"client": {"request_body_schema": 1}, "server": {}}
    assert health == {
        "status": "ok",
        "upstream": upstream,
        "enforce": False,
        "exchanges": 2,
        "violations": 1,
        "keys": 1,  # one key hash, never the key
    }
    assert emptied.status_code == 204
    assert (after["violations"], after["count"]) == ([], 0)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, DELETE")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


# -- what goes through unchanged, and --enforce -------------------------------------------------------


def test_without_enforce_a_leaking_answer_goes_through_unchanged_and_is_flagged() -> None:
    with (
        serving(planted("LeakPasswordOnCreate"), (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        answer = http.post("/sip-trunks", json=TRUNK)
    assert answer.status_code == 201
    assert answer.json()["password"] == PASSWORD  # the upstream's answer, as it was
    assert proxy.checks() == {"password_never_returned", "response_schema_conformance"}
    assert PASSWORD not in "\n".join(proxy.lines)


@pytest.mark.parametrize(
    ("mutant", "check"),
    [("LeakPasswordOnCreate", "password_never_returned"), ("ListShowsEveryOrganization", "isolation_list")],
    ids=["password", "other-organization"],
)
def test_enforce_replaces_a_leaking_answer_by_a_502_problem(mutant: str, check: str) -> None:
    with (
        serving(planted(mutant), (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, enforce=True) as proxy,
        client(proxy.base_url, TOKEN_A) as a,
        client(proxy.base_url, TOKEN_B) as b,
    ):
        a.post("/sip-trunks", json=TRUNK)
        b.get("/sip-trunks")
        answer = b.get("/sip-trunks") if check == "isolation_list" else a.post("/sip-trunks", json=TRUNK)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["status"], problem["title"]) == (502, "Bad Gateway")
    assert problem["detail"].startswith(f"The upstream's answer broke the contract: {check} (")
    # Nothing of what leaked: no password, no trunk of the other organization, not even its id.
    assert PASSWORD not in answer.text and "sip.provider.com" not in answer.text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", answer.text)
    assert check in proxy.checks()


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({"json": {**TRUNK, "port": 70000}}, 400),
        ({"content": json.dumps(TRUNK), "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": TRUNK, "headers": {"Authorization": "Basic dXNlcjpwYXNz"}}, 401),
    ],
    ids=["bad-body-400", "media-type-415", "no-bearer-401"],
)
def test_enforce_answers_a_request_that_breaks_the_contract_itself(
    request_: dict[str, object], status: int
) -> None:
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, enforce=True) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        answer = http.post("/sip-trunks", **request_)  # type: ignore[arg-type]
        with client(upstream, TOKEN_A) as direct:
            journal = direct.get("/__admin/requests").json()["requests"]
    assert answer.status_code == status
    assert answer.json()["detail"].startswith("Refused by the proxy (--enforce): ")
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
    assert journal == []  # not forwarded
    assert proxy.checks("client") and not proxy.checks("server")


def test_enforce_forwards_a_valid_exchange_unchanged() -> None:
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, enforce=True) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        created = http.post("/sip-trunks", json=TRUNK)
        listed = http.get("/sip-trunks")
    assert created.status_code == 201
    assert created.headers["location"] == f"/sip-trunks/{created.json()['id']}"
    assert listed.json() == {"trunks": [created.json()]}
    assert proxy.violations() == []


@pytest.mark.parametrize("enforce", [False, True])
def test_the_answer_carries_the_upstreams_headers_and_none_of_the_proxys_own(enforce: bool) -> None:
    def names_and_values(response: httpx.Response) -> list[tuple[bytes, bytes]]:
        # The date may tick between the two answers: its name counts, not its value.
        return [
            (name.lower(), b"" if name.lower() == b"date" else value) for name, value in response.headers.raw
        ]

    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, enforce=enforce) as proxy,
        client(upstream, TOKEN_A) as direct,
        client(proxy.base_url, TOKEN_A) as proxied,
    ):
        pairs = [(direct.get("/sip-trunks"), proxied.get("/sip-trunks"))]
        pairs.append((direct.get("/sip-trunks/nope"), proxied.get("/sip-trunks/nope")))
    for straight, through in pairs:
        assert names_and_values(through) == names_and_values(straight)
        assert [name for name, _ in through.headers.raw].count(b"server") <= 1


# -- masking --------------------------------------------------------------------------------------


@dataclass
class EchoesTheKey(Rewriting):
    """GET /sip-trunks/{id} answers the caller's Authorization header as the trunk's port."""

    def rewrite(self, seen: Seen) -> None:
        if seen.method == "GET" and TRUNK_PATH.match(seen.path) and seen.status == 200:
            seen.set_json({**seen.json(), "port": seen.authorization})


def test_api_keys_are_masked_in_every_line_even_when_an_answer_quotes_them() -> None:
    with (
        serving(None, (TOKEN_A, TOKEN_B), wrap=EchoesTheKey) as upstream,
        watching(upstream) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        trunk = http.post("/sip-trunks", json=TRUNK).json()
        http.get(f"/sip-trunks/{trunk['id']}")
    lines = "\n".join(proxy.lines)
    assert "VIOLATION server response_schema_conformance GET /sip-trunks/{id} 200: " in lines
    assert TOKEN_A not in lines
    assert "$TOKEN" in lines


# -- the command: reports on SIGTERM, options -------------------------------------------------------


def test_the_command_writes_its_reports_when_stopped_by_sigterm(tmp_path: Path) -> None:
    report, junit = tmp_path / "proxy.json", tmp_path / "proxy.xml"
    with serving(None, (TOKEN_A, TOKEN_B)) as upstream:
        command = [str(SIP_TRUNKS), "proxy", "--upstream", upstream, "--port", "0"]
        process = subprocess.Popen(
            [*command, "--report", str(report), "--junit-xml", str(junit)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            assert process.stdout is not None
            first = process.stdout.readline()  # SIP trunks proxy listening on http://127.0.0.1:<port> -> ...
            base_url = first.split(" listening on ")[1].split(" -> ")[0]
            with client(base_url, TOKEN_A) as http:
                http.post("/sip-trunks", json={**TRUNK, "port": 0})
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            assert process.stderr is not None
            stdout, stderr = first + process.stdout.read(), process.stderr.read()
        finally:
            process.kill()
    # The reports are written, then uvicorn re-raises the signal: the process ends by it, as the mock does.
    assert process.returncode == -signal.SIGTERM, stderr
    assert first.startswith("SIP trunks proxy listening on http://127.0.0.1:") and first.rstrip().endswith(
        upstream
    )
    assert stdout.rstrip().endswith("Press Ctrl+C to stop.")
    assert "VIOLATION client request_body_schema POST /sip-trunks 400: " in stderr
    saved = json.loads(report.read_text())
    assert (saved["upstream"], saved["exchanges"], saved["count"]) == (upstream, 1, 1)
    assert saved["violations"][0]["check"] == "request_body_schema"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["request_body_schema"]
    assert TOKEN_A not in stdout + stderr + report.read_text() + junit.read_text()
    assert PASSWORD not in stdout + stderr + report.read_text() + junit.read_text()


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ("127.0.0.1:4010", "error: --upstream must be an http:// or https:// URL"),
        ("http://127.0.0.1:4010/?x=1", "error: --upstream takes a base URL without query or fragment"),
    ],
    ids=["no-scheme", "query"],
)
def test_a_bad_upstream_is_a_usage_error_with_exit_2(upstream: str, message: str) -> None:
    result = CliRunner().invoke(main, ["proxy", "--upstream", upstream])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_the_group_lists_the_proxy_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "sip-trunks proxy    check live traffic to a server, as a reverse proxy" in result.stdout
    assert "proxy" in CliRunner().invoke(main, ["proxy", "--help"]).stdout


def test_a_defect_of_the_proxy_never_breaks_the_traffic_it_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    from contracts.proxy.inspector import Inspector

    def broken(*args: object) -> None:
        raise RuntimeError("a defect of the proxy")

    monkeypatch.setattr(Inspector, "on_answer", broken)
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        answer = http.post("/sip-trunks", json=TRUNK)
    assert answer.status_code == 201 and answer.json()["name"] == TRUNK["name"]
    assert proxy.lines == [
        "proxy: could not judge the answer of POST /sip-trunks (RuntimeError); forwarded unchanged"
    ]


def test_bodies_over_the_proxys_limit_are_refused_or_passed_through_unjudged() -> None:
    # Bodies are held in memory to be judged: a bounded amount, however hostile the traffic.
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, max_body=400) as proxy,
        client(proxy.base_url, TOKEN_A) as http,
    ):
        created = [http.post("/sip-trunks", json={**TRUNK, "name": f"Trunk {n}"}) for n in range(3)]
        listed = http.get("/sip-trunks")
        refused = http.post("/sip-trunks", json={**TRUNK, "name": "x" * 500})
        with client(upstream, TOKEN_A) as direct:
            names = [trunk["name"] for trunk in direct.get("/sip-trunks").json()["trunks"]]
    assert [answer.status_code for answer in created] == [201, 201, 201]
    assert [trunk["id"] for trunk in listed.json()["trunks"]] == [answer.json()["id"] for answer in created]
    assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
    assert names == ["Trunk 0", "Trunk 1", "Trunk 2"]  # the refused one was not forwarded
    assert proxy.lines == [
        "proxy: not judged: the answer to GET /sip-trunks is over 400 bytes",
        "proxy: refused POST /sip-trunks: a body over 400 bytes",
    ]


def test_options_become_the_config_and_the_banner_says_what_it_does(tmp_path: Path) -> None:
    from contracts.proxy.cli import banner
    from contracts.proxy.config import ProxyConfig

    config = ProxyConfig.from_options(
        upstream="https://api.example.com/v1/",
        port=4999,
        enforce=True,
        report=tmp_path / "r.json",
        junit_xml=None,
    )
    assert (config.upstream, config.host, config.port, config.enforce) == (
        "https://api.example.com/v1",
        "127.0.0.1",
        4999,
        True,
    )
    assert banner(config) == "\n".join(
        [
            "SIP trunks proxy listening on http://127.0.0.1:4999 -> https://api.example.com/v1",
            "  mode        enforcing: requests that break the contract and leaking answers are refused",
            "  violations  one line each on stderr, and GET|DELETE http://127.0.0.1:4999/__proxy/violations",
            "  health      http://127.0.0.1:4999/__proxy/health",
            f"  reports     written on stop: {tmp_path / 'r.json'}",
            "Press Ctrl+C to stop.",
        ]
    )
