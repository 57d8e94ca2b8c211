"""Fault injection: the syntax (faults.py), the table's matching and draws (fault_table.py), and every
kind of fault over a real socket."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import httpx
import pytest

from mockserver import MockConfig, running_mock
from mockserver.controls.fault_table import MAX_FAULTS, Catalog, FaultTable
from mockserver.controls.faults import FaultSpec, InvalidFault, Latency, parse_fault, parse_latency
from mockserver.controls.middleware import _product_facts
from mockserver.domain.models import org_key
from sip_trunks_openapi import load_spec

from .helpers import TOKEN_A, TOKEN_B, assert_problem, bearer, trunk_body

SPEC = load_spec()
TRUNK_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"


def catalog() -> Catalog:
    return Catalog(_product_facts()[0].operations)


# The syntax ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("POST /sip-trunks status=503 times=2", FaultSpec("POST", "/sip-trunks", status=503, times=2)),
        ("get /sip-trunks/{id} drop", FaultSpec("GET", "/sip-trunks/{id}", drop=True)),
        ("/phone-numbers latency=1.5s", FaultSpec(path="/phone-numbers", latency=Latency(1500, 1500))),
        ("DELETE status=429 retry-after=0", FaultSpec("DELETE", status=429, retry_after=0)),
        ("latency=10-100ms fraction=25%", FaultSpec(latency=Latency(10, 100), fraction=0.25)),
        ("* * status=503 fraction=0.5 token=k", FaultSpec(status=503, fraction=0.5, token="k")),
    ],
    ids=["status-times", "drop-lowercase-method", "path-only", "method-only", "range-percent", "any-token"],
)
def test_parse_fault(text: str, spec: FaultSpec) -> None:
    assert parse_fault(text) == spec


def test_str_is_the_syntax_back_and_hides_the_token() -> None:
    spec = parse_fault("GET /sip-trunks/{id} status=429 times=3 fraction=0.5 retry_after=2 token=secret")
    assert (
        str(spec)
        == f"GET /sip-trunks/{{id}} status=429 times=3 fraction=0.5 retry_after=2 org={org_key('secret')}"
    )
    assert "secret" not in repr(spec) and "secret" not in str(spec)
    assert parse_fault(str(parse_fault("* * latency=10-100ms drop times=1"))) == parse_fault(
        "latency=10-100ms drop times=1"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GET /sip-trunks", "a fault needs an effect"),
        ("GET /sip-trunks status=503 drop", "either answers a status or drops the connection"),
        ("GET /sip-trunks status=abc", "status must be a whole number"),
        ("GET /sip-trunks status=302", "status must be an error status (400-599)"),
        ("FETCH /sip-trunks status=503", "method 'FETCH' is not an HTTP method"),
        ("GET sip-trunks status=503", "must be a path template"),
        ("GET /sip-trunks status=503 times=0", "times must be 1 to 1000000000, got 0"),
        ("GET /sip-trunks status=503 times=1000000001", "times must be 1 to 1000000000"),
        ("GET /sip-trunks status=503 times=9999999999999", "times must be a whole number of at most 12"),
        ("GET /sip-trunks status=503 retry_after=86401", "retry_after must be 0 to 86400 seconds"),
        ("GET /sip-trunks status=503 fraction=0", "fraction must be over 0 and at most 1"),
        ("GET /sip-trunks status=503 fraction=lots", "fraction must be a number like 0.25 or 25%"),
        ("GET /sip-trunks status=404 retry_after=1", "retry_after goes with status=429 or status=503"),
        ("GET /sip-trunks latency=5", "latency '5' is not like 50ms"),
        ("GET /sip-trunks latency=2-1s", "with the lower bound first"),
        ("GET /sip-trunks latency=61s", "latency must be between 0 and 60000 ms"),
        ("GET /sip-trunks status", "'status' is not an option"),
        ("GET /sip-trunks colour=red", "unknown option 'colour'"),
    ],
)
def test_bad_faults_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidFault, match=None) as info:
        parse_fault(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "fields",
    [{"times": 10**400}, {"times": 10**5000}, {"retry_after": 10**400}, {"retry_after": -1}],
    ids=["times-400-digits", "times-5000-digits", "retry-after-400-digits", "retry-after-negative"],
)
def test_huge_counts_are_refused_in_the_domain_in_a_short_message(fields: dict[str, int]) -> None:
    # Not only at the admin API's edge: the command line and Python callers build FaultSpecs too.
    with pytest.raises(InvalidFault) as info:
        FaultSpec(status=503, **fields)
    assert len(str(info.value)) < 100


def test_a_count_of_5000_digits_on_the_command_line_is_an_invalid_fault() -> None:
    # int() refuses over 4300 digits with a bare ValueError; the parser never hands it that many.
    with pytest.raises(InvalidFault, match="at most 12 digits"):
        parse_fault("GET /sip-trunks status=503 times=" + "9" * 5000)


def test_latency() -> None:
    assert parse_latency("50ms") == Latency(50, 50) and str(Latency(50, 50)) == "50ms"
    assert parse_latency("0.5-2s") == Latency(500, 2000) and str(Latency(500, 2000)) == "500-2000ms"


def test_json_round_trip() -> None:
    spec = parse_fault("PATCH /phone-numbers/{id} status=503 latency=5-10ms times=2 fraction=0.5 token=t")
    assert spec.to_json() == {
        "method": "PATCH",
        "path": "/phone-numbers/{id}",
        "status": 503,
        "latency_ms": 5.0,
        "latency_max_ms": 10.0,
        "times": 2,
        "token": "t",
        "fraction": 0.5,
    }
    assert FaultSpec.from_json(spec.to_json()) == spec


# The catalog: statuses the spec documents ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        ("* *", {400, 401, 429, 503}),
        ("POST /sip-trunks", {400, 401, 409, 413, 415, 429, 503}),
        ("* /sip-trunks/{id}", {400, 401, 404, 429, 503}),
        ("PATCH /phone-numbers/{id}", {400, 401, 404, 413, 415, 422, 429, 503}),
    ],
)
def test_only_statuses_documented_for_every_matched_operation_are_injectable(
    text: str, statuses: set[int]
) -> None:
    allowed = {s for s in range(400, 600) if _injectable(f"{text} status={s}")}
    assert allowed == statuses


def _injectable(text: str) -> bool:
    try:
        catalog().resolve(parse_fault(text))
    except InvalidFault:
        return False
    return True


def test_a_path_or_operation_the_spec_lacks_is_refused() -> None:
    with pytest.raises(InvalidFault, match="path '/trunks' is not in the spec; use one of /phone-numbers"):
        catalog().resolve(parse_fault("GET /trunks status=503"))
    with pytest.raises(InvalidFault, match="the spec has no operation PUT /sip-trunks"):
        catalog().resolve(parse_fault("PUT /sip-trunks status=503"))


def test_template_of_a_concrete_path() -> None:
    table = catalog()
    assert table.template("/sip-trunks") == "/sip-trunks"
    assert table.template(f"/sip-trunks/{TRUNK_ID}") == "/sip-trunks/{id}"
    assert table.template("/sip-trunks/") is None and table.template("/nope") is None


# The table: matching, counting, draws ------------------------------------------------------


def statuses(
    table: FaultTable, count: int, method: str = "GET", path: str = "/sip-trunks"
) -> list[int | None]:
    out: list[int | None] = []
    for _ in range(count):
        decision = table.decide(method, path, None)
        out.append(decision.fault.spec.status if decision and decision.fault else None)
    return out


def test_times_counts_down_and_the_fault_stays_listed() -> None:
    table = FaultTable(catalog())
    fault = table.add(parse_fault("GET /sip-trunks status=503 times=2"))
    assert statuses(table, 3) == [503, 503, None]
    assert (fault.hits, fault.remaining) == (2, 0)
    assert fault.to_json()["remaining"] == 0


def test_a_fraction_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[int | None]:
        table = FaultTable(catalog(), seed=seed)
        table.add(parse_fault("* * status=503 fraction=0.5"))
        return statuses(table, 40)

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 5 < run(1).count(503) < 35


def test_a_latency_range_is_drawn_within_bounds_and_reproducibly() -> None:
    def delays(seed: int) -> list[float]:
        table = FaultTable(catalog(), [parse_fault("latency=10-20ms")], seed=seed)
        return [d.delay for d in (table.decide("GET", "/sip-trunks", None) for _ in range(20)) if d]

    assert delays(3) == delays(3) != delays(4)
    assert all(0.010 <= delay <= 0.020 for delay in delays(3))


def test_latencies_add_up_and_the_first_status_decides() -> None:
    table = FaultTable(catalog(), [parse_fault("latency=10ms")])
    table.add(parse_fault("GET /sip-trunks latency=5ms status=429 times=1"))
    later = table.add(parse_fault("GET * status=503 times=1"))
    first = table.decide("GET", "/sip-trunks", None)
    assert first is not None and first.fault is not None
    assert (round(first.delay, 3), first.fault.spec.status, first.fired) == (0.015, 429, ("f1", "f2"))
    # The later status fault was neither used nor counted, so it answers next.
    assert later.hits == 0
    second = table.decide("GET", "/sip-trunks", None)
    assert second is not None and second.fault is later


def test_a_scoped_fault_matches_only_its_organization() -> None:
    table = FaultTable(catalog())
    table.add(parse_fault(f"* * status=503 token={TOKEN_A}"))
    assert table.decide("GET", "/sip-trunks", org_key(TOKEN_B)) is None
    assert table.decide("GET", "/sip-trunks", None) is None
    assert table.decide("GET", "/sip-trunks", org_key(TOKEN_A)) is not None


def test_reset_restores_the_startup_faults_with_fresh_counters_and_ids() -> None:
    table = FaultTable(catalog(), [parse_fault("GET /sip-trunks status=503 times=1")])
    statuses(table, 1)
    table.add(parse_fault("POST /sip-trunks status=503"))
    table.reset()
    assert [(f.id, f.remaining) for f in table] == [("f1", 1)]
    assert table.add(parse_fault("POST /sip-trunks status=503")).id == "f2"


def test_reset_of_one_organization_keeps_the_others_faults() -> None:
    table = FaultTable(catalog(), [parse_fault(f"* * status=503 times=1 token={TOKEN_A}")])
    table.decide("GET", "/sip-trunks", org_key(TOKEN_A))
    table.add(parse_fault(f"* * status=429 token={TOKEN_A}"))
    table.add(parse_fault(f"* * status=429 token={TOKEN_B}"))
    table.reset(TOKEN_A)
    assert [(f.id, f.org, f.remaining) for f in table] == [
        ("f1", org_key(TOKEN_A), 1),
        ("f3", org_key(TOKEN_B), None),
    ]


def test_the_table_is_bounded() -> None:
    table = FaultTable(catalog())
    for _ in range(MAX_FAULTS):
        table.add(parse_fault("latency=1ms"))
    with pytest.raises(InvalidFault, match=f"at most {MAX_FAULTS} faults"):
        table.add(parse_fault("latency=1ms"))


# Over a real socket ----------------------------------------------------------------------


def inject(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/__admin/faults", json=body)
    assert response.status_code == 201, response.text
    fault: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/__admin/faults/{fault['id']}"
    return fault


def call(http: httpx.Client, method: str, template: str, token: str = TOKEN_A) -> httpx.Response:
    path = template.replace("{id}", TRUNK_ID)
    body = trunk_body() if method == "POST" else {"transfer_trunk_id": None} if method == "PATCH" else None
    return http.request(method, path, json=body, headers=bearer(token))


@functools.cache
def schemathesis_schema() -> Any:
    import schemathesis

    from sip_trunks_openapi import SPEC_PATH

    return schemathesis.openapi.from_path(str(SPEC_PATH))


def conforms(response: httpx.Response, method: str, template: str) -> None:
    """The answer is one the spec documents for the operation: status, media type, required headers, body."""
    documented = SPEC["paths"][template][method.lower()]["responses"]
    assert str(response.status_code) in documented
    ref = documented[str(response.status_code)]["$ref"].rsplit("/", 1)[1]
    definition = SPEC["components"]["responses"][ref]
    assert response.headers["content-type"] in definition["content"]
    for name, header in definition.get("headers", {}).items():
        required = SPEC["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]["required"]
        assert not required or name.lower() in response.headers, name
    schemathesis_schema()[template][method].validate_response(response)


OPERATIONS = [
    (method.upper(), template)
    for template, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "patch", "delete")
]
INJECTABLE = [
    (method, template, status)
    for method, template in OPERATIONS
    for status in sorted(catalog().operations[(method, template)])
]


@pytest.mark.parametrize(
    ("method", "template", "status"), INJECTABLE, ids=[f"{m} {t} {s}" for m, t, s in INJECTABLE]
)
def test_every_injectable_status_answers_a_problem_the_spec_documents(
    http: httpx.Client, method: str, template: str, status: int
) -> None:
    fault = inject(http, method=method, path=template, status=status, times=1)
    response = call(http, method, template)
    assert_problem(response, status, f"fault {fault['id']}")
    conforms(response, method, template)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if status in (429, 503):
        assert response.headers["retry-after"] == "1"


def test_the_next_n_then_the_real_answer(http: httpx.Client) -> None:
    inject(http, method="POST", path="/sip-trunks", status=503, times=2)
    codes = [http.post("/sip-trunks", json=trunk_body(), headers=bearer()).status_code for _ in range(3)]
    assert codes == [503, 503, 201]
    (fault,) = http.get("/__admin/faults").json()["faults"]
    assert (fault["hits"], fault["remaining"]) == (2, 0)


def test_retry_after_can_be_chosen(http: httpx.Client) -> None:
    inject(http, status=429, retry_after=0, times=1)
    assert http.get("/phone-numbers", headers=bearer()).headers["retry-after"] == "0"


def test_a_fraction_over_the_socket_is_the_same_after_a_reset(http: httpx.Client) -> None:
    def run() -> list[int]:
        inject(http, method="GET", path="/sip-trunks", status=503, fraction=0.5)
        return [http.get("/sip-trunks", headers=bearer()).status_code for _ in range(16)]

    first = run()
    http.post("/__admin/reset")
    assert run() == first
    assert set(first) == {200, 503}


def test_latency_delays_the_answer(http: httpx.Client) -> None:
    inject(http, method="GET", path="/phone-numbers", latency_ms=200, times=1)
    started = time.perf_counter()
    response = http.get("/phone-numbers", headers=bearer())
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2
    (entry,) = http.get("/__admin/requests").json()["requests"]
    assert entry["duration_ms"] >= 200 and entry["faults"] == ["f1"]


def test_a_dropped_connection_gets_no_answer_and_the_server_logs_no_error(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    inject(http, method="POST", path="/sip-trunks", drop=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post("/sip-trunks", json=trunk_body(), headers=bearer())
    assert http.post("/sip-trunks", json=trunk_body(), headers=bearer()).status_code == 201
    entries = http.get("/__admin/requests").json()["requests"]
    assert [(e["status"], e["faults"]) for e in entries] == [(None, ["f1"]), (201, [])]
    # Even unanswered, the journal shows what was sent (password masked).
    assert entries[0]["request_body"]["password"] == "********"
    # uvicorn did not answer 500 on our behalf nor log an error.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_drop_works_behind_the_access_log_as_the_command_runs_it() -> None:
    config = MockConfig(access_log=True, faults=(parse_fault("GET /sip-trunks drop times=1"),))
    with running_mock(config) as mock, httpx.Client(base_url=mock.base_url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/sip-trunks", headers=bearer())
        assert http.get("/sip-trunks", headers=bearer()).status_code == 200


def test_a_drop_in_process_raises_connection_dropped() -> None:
    import anyio

    from mockserver import create_app
    from mockserver.controls.middleware import ConnectionDropped

    app = create_app(MockConfig(access_log=False, faults=(parse_fault("GET /sip-trunks drop"),)))

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            with pytest.raises(ConnectionDropped):
                await client.get("/sip-trunks", headers=bearer())

    anyio.run(go)


def test_a_fault_scoped_to_a_token_leaves_other_organizations_alone(http: httpx.Client) -> None:
    fault = inject(http, status=503, token=TOKEN_A)
    assert fault["org"] == org_key(TOKEN_A) and "token" not in fault
    assert http.get("/sip-trunks", headers=bearer(TOKEN_A)).status_code == 503
    assert http.get("/sip-trunks", headers=bearer(TOKEN_B)).status_code == 200
    assert TOKEN_A not in http.get("/__admin/faults").text


def test_clear_one_all_or_by_token(http: httpx.Client) -> None:
    first = inject(http, status=503, token=TOKEN_A)
    inject(http, status=503, token=TOKEN_B)
    third = inject(http, latency_ms=1)
    assert http.delete(f"/__admin/faults/{first['id']}").status_code == 204
    assert_problem(http.delete(f"/__admin/faults/{first['id']}"), 404, "No fault with this id")
    assert http.delete("/__admin/faults", params={"token": TOKEN_B}).status_code == 204
    assert [f["id"] for f in http.get("/__admin/faults").json()["faults"]] == [third["id"]]
    assert http.delete("/__admin/faults").status_code == 204
    assert http.get("/__admin/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"method": "GET", "path": "/sip-trunks", "status": 409}, "status 409 is not documented for GET"),
        ({"path": "/trunks", "status": 503}, "path '/trunks' is not in the spec"),
        ({"status": 503, "drop": True}, "either answers a status or drops"),
        ({"times": 2}, "a fault needs an effect"),
        ({"latency_max_ms": 5}, "latency_max_ms needs latency_ms"),
        ({"latency_ms": 50, "latency_max_ms": 5}, "with the lower bound first"),
        ({"status": 503, "fraction": 0}, "fraction must be over 0"),
        ({"method": "BREW", "status": 503}, "method 'BREW' is not an HTTP method"),
        ({"status": 200}, "status: must be at least 400"),
        ({"status": 503, "colour": "red"}, "Additional properties are not allowed"),
    ],
    ids=[
        "undocumented",
        "unknown-path",
        "status-and-drop",
        "no-effect",
        "max-without-min",
        "range-order",
        "fraction-0",
        "method",
        "2xx",
        "unknown-field",
    ],
)
def test_a_fault_that_cannot_be_injected_is_400(
    http: httpx.Client, body: dict[str, Any], detail: str
) -> None:
    assert_problem(http.post("/__admin/faults", json=body), 400, detail)
    assert http.get("/__admin/faults").json() == {"faults": []}


def test_faults_never_touch_the_admin_api_or_the_docs(http: httpx.Client) -> None:
    inject(http, status=503)
    inject(http, drop=True)
    assert http.get("/__admin/health").status_code == 200
    assert http.get("/openapi.json").status_code == 200
    assert http.get("/nope", headers=bearer()).status_code == 404  # not an operation: no fault matches


def test_faults_given_at_start_are_listed_and_come_back_on_reset() -> None:
    config = MockConfig(
        access_log=False,
        latency=Latency(1, 1),
        faults=(parse_fault("POST /sip-trunks status=503 times=1"),),
    )
    with running_mock(config) as mock, httpx.Client(base_url=mock.base_url) as http:
        assert http.post("/sip-trunks", json=trunk_body(), headers=bearer()).status_code == 503
        listed = http.get("/__admin/faults").json()["faults"]
        assert [(f["id"], f.get("status"), f["remaining"]) for f in listed] == [
            ("f1", None, None),
            ("f2", 503, 0),
        ]
        assert http.delete("/__admin/faults").status_code == 204
        assert http.get("/__admin/faults").json() == {"faults": []}
        http.post("/__admin/reset")
        assert [f["remaining"] for f in http.get("/__admin/faults").json()["faults"]] == [None, 1]


@pytest.mark.parametrize(
    "module",
    [
        "mockserver.controls.faults",
        "mockserver.controls.fault_table",
        "mockserver.controls.rate_limit",
        "mockserver.controls.journal",
    ],
)
def test_the_controls_domain_imports_only_the_standard_library(module: str) -> None:
    # The config holds parsed faults and limits, and the config stays light (see test_imports).
    from .test_imports import HEAVY, imported_by

    assert imported_by(module).isdisjoint(HEAVY)
