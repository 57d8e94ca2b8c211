"""The plain-data model of one organization."""

from __future__ import annotations

from contracts.suites.model.state import DEFAULT_PORT, OrgModel, TrunkInput


def trunk(trunk_id: str, created_at: str = "2026-01-01T00:00:00.000Z") -> dict[str, object]:
    return {"id": trunk_id, "name": "n", "host": "h", "port": 5060, "username": "u", "created_at": created_at}


def test_a_trunk_without_port_is_sent_without_one_and_expected_with_the_default() -> None:
    data = TrunkInput(name="n", host="h", username="u")
    assert data.body("pw") == {"name": "n", "host": "h", "username": "u", "password": "pw"}
    assert data.expected()["port"] == DEFAULT_PORT
    assert TrunkInput(name="n", host="h", username="u", port=1).body("pw")["port"] == 1


def test_delete_clears_exactly_the_phone_numbers_linked_to_the_trunk() -> None:
    model = OrgModel()
    model.start({"p1": None, "p2": None, "p3": "foreign"})
    model.add(trunk("a"))
    model.add(trunk("b"))
    model.link("p1", "a")
    model.link("p2", "b")
    assert model.delete("a") == ["p1"]
    assert model.phones == {"p1": None, "p2": "b", "p3": "foreign"}
    assert model.deleted == ["a"]
    assert "a" in model.created


def test_the_list_is_oldest_first_then_by_id_and_restricted_to_this_runs_trunks() -> None:
    model = OrgModel()
    for item in (trunk("b", "2026-01-01T00:00:00.001Z"), trunk("c"), trunk("a")):
        model.add(item)
    assert [t["id"] for t in model.listed()] == ["a", "c", "b"]
    listed = [trunk("someone-elses"), trunk("c"), "junk"]
    assert model.restricted(listed) == [trunk("c")]
