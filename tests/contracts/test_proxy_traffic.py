"""A correct upstream through the proxy raises no server-side alarm: the suite, a busy server, bypasses.

The full ``sip-trunks check`` (the engine the command runs, default budget) goes through the
proxy to the mock; then a proxy starts in front of a mock that already holds data, while
other clients change it behind the proxy's back; then clients race each other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts import CheckConfig, RunFinished, run

from .helpers import TOKEN_A, TOKEN_B
from .mutants.corpus import serving
from .proxy_traffic import TRUNK, client, watching


@pytest.mark.parametrize("enforce", [False, True], ids=["checking", "enforcing"])
def test_the_full_check_through_the_proxy_passes_and_the_proxy_flags_nothing_on_the_server_side(
    enforce: bool,
) -> None:
    # Enforcing, the proxy answers the suite's negative tests itself: its answers conform too.
    with serving(None, (TOKEN_A, TOKEN_B)) as upstream, watching(upstream, enforce=enforce) as proxy:
        config = CheckConfig.from_options(
            base_url=proxy.base_url, token=TOKEN_A, second_token=TOKEN_B, seed=2026, environ={}
        )
        *_, finished = run(config)
    assert isinstance(finished, RunFinished)
    assert finished.exit_code == 0, [failure.title for failure in finished.failures]
    assert [line for line in proxy.lines if line.startswith("VIOLATION server")] == []
    # The suite's negative tests break the contract on purpose: the proxy says so, client side.
    assert {"request_body_schema", "bearer_credentials", "known_operation"} <= proxy.checks("client")
    lines = "\n".join(proxy.lines)
    assert TOKEN_A not in lines and TOKEN_B not in lines


def test_a_proxy_started_in_front_of_a_busy_server_raises_no_false_alarm() -> None:
    with serving(None, (TOKEN_A, TOKEN_B)) as upstream, client(upstream, TOKEN_A) as direct:
        # Data from before the proxy started: trunks, links, a deleted trunk.
        before = [direct.post("/sip-trunks", json={**TRUNK, "name": f"Old {n}"}).json() for n in range(3)]
        numbers = direct.get("/phone-numbers").json()["phone_numbers"]
        direct.patch(f"/phone-numbers/{numbers[0]['id']}", json={"transfer_trunk_id": before[0]["id"]})
        direct.delete(f"/sip-trunks/{before[2]['id']}")
        with watching(upstream) as proxy, client(proxy.base_url, TOKEN_A) as through:
            through.get(f"/sip-trunks/{before[1]['id']}")
            through.get("/sip-trunks")
            through.get(f"/phone-numbers/{numbers[0]['id']}")
            created = through.post("/sip-trunks", json=TRUNK).json()
            through.get("/sip-trunks")
            # Behind the proxy's back: a delete, an unlink, a create.
            direct.delete(f"/sip-trunks/{before[1]['id']}")
            direct.delete(f"/sip-trunks/{created['id']}")
            direct.patch(f"/phone-numbers/{numbers[0]['id']}", json={"transfer_trunk_id": None})
            direct.post("/sip-trunks", json={**TRUNK, "name": "Made elsewhere"})
            through.get("/sip-trunks")
            through.get(f"/sip-trunks/{before[1]['id']}")
            through.get(f"/sip-trunks/{created['id']}")
            through.get("/phone-numbers")
            through.delete(f"/sip-trunks/{before[0]['id']}")
            through.get("/phone-numbers")
            through.get(f"/sip-trunks/{before[2]['id']}")
    assert proxy.violations() == []


def test_clients_racing_each_other_through_the_proxy_raise_no_false_alarm() -> None:
    # Creates, deletes and lists in flight at once: a list that began before a create ended
    # may omit it, a read that began before a delete ended may show it.
    with serving(None, (TOKEN_A, TOKEN_B)) as upstream, watching(upstream) as proxy:

        def work(n: int) -> None:
            with client(proxy.base_url, TOKEN_A if n % 2 else TOKEN_B) as http:
                for _ in range(5):
                    trunk = http.post("/sip-trunks", json={**TRUNK, "name": f"Race {n}"}).json()
                    http.get("/sip-trunks")
                    http.delete(f"/sip-trunks/{trunk['id']}")
                    http.get("/sip-trunks")
                    http.get(f"/sip-trunks/{trunk['id']}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(8)))
    assert proxy.violations() == []


def test_a_proxy_whose_memory_is_full_forgets_the_oldest_says_so_once_and_raises_no_false_alarm() -> None:
    with (
        serving(None, (TOKEN_A, TOKEN_B)) as upstream,
        watching(upstream, max_trunks_per_key=5, max_keys=1) as proxy,
        client(proxy.base_url, TOKEN_A) as a,
        client(proxy.base_url, TOKEN_B) as b,
    ):
        trunks = [a.post("/sip-trunks", json={**TRUNK, "name": f"Trunk {n}"}).json() for n in range(12)]
        a.get("/sip-trunks")
        b.get("/sip-trunks")  # a second key: the first one is forgotten
        for trunk in trunks:
            a.get(f"/sip-trunks/{trunk['id']}")
            a.delete(f"/sip-trunks/{trunk['id']}")
        a.get("/sip-trunks")
    assert proxy.violations() == []
    assert sorted(proxy.lines) == [
        "proxy: memory full (API keys); forgetting the oldest from now on (said once)",
        "proxy: memory full (facts of one key); forgetting the oldest from now on (said once)",
    ]
