"""The seat chart: the shipped one holds, each kind of bad chart is refused in one line."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.context import Context
from schemas.seats import MAX_DEPTH, Seat, SeatChart, SeatChartError, seat_chart

SHIPPED_SEATS = {"person", "coach", "orchestrator", "researcher", "composer", "reviewer", "sender"}


def seat(name: str, *delegates: str, owner: str = '"ops"') -> str:
    """One `[seat.NAME]` table in the chart format."""
    targets = ", ".join(f'"{d}"' for d in delegates)
    return f'[seat.{name}]\nowner = {owner}\njob = "does {name}"\ndelegates_to = [{targets}]\n'


def chain(*names: str) -> str:
    """A chart where each seat delegates to the next."""
    return "".join(seat(a, b) for a, b in pairwise(names)) + seat(names[-1])


def refusal(text: str) -> str:
    with pytest.raises(SeatChartError) as caught:
        SeatChart.parse(text, "team.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("seat chart team.toml: ")
    return message


# The shipped chart


def test_the_shipped_chart_has_the_seven_seats_one_owner_each_and_depth_at_most_three() -> None:
    chart = SeatChart.load()

    assert set(chart.seats) == SHIPPED_SEATS
    assert all(isinstance(s.owner, str) and s.owner for s in chart.seats.values())
    assert chart.owner_of("reviewer") == "compliance"
    assert chart.roots() == ["person"]
    assert max(chart.depth_of(name) for name in chart.seats) == MAX_DEPTH
    assert chart.deepest_chain() == ["person", "coach", "orchestrator", "composer"]
    assert chart.source.endswith("seats.toml")


def test_the_shipped_chart_as_data_lists_roots_first_then_breadth_first() -> None:
    data = SeatChart.load().as_dict()

    names = [s["name"] for s in data["seats"]]
    assert names[0] == "person" and set(names) == SHIPPED_SEATS
    depths = [s["depth"] for s in data["seats"]]
    assert depths == [0, 1, 2, 1, 3, 3, 3]
    assert data["seats"][0] == {
        "name": "person",
        "owner": "sales-manager",
        "job": "approves every draft and releases what it started",
        "delegates_to": ["coach", "orchestrator", "sender"],
        "depth": 0,
    }


def test_a_seat_reads_back_as_written() -> None:
    chart = SeatChart.parse(chain("coach", "orchestrator"), "team.toml")

    assert chart.seats["coach"] == Seat("coach", "ops", "does coach", ("orchestrator",))
    assert chart.depth_of("orchestrator") == 1


# Refusals, one line each


def test_a_delegation_to_a_seat_without_a_table_is_an_unknown_seat() -> None:
    message = refusal(seat("coach", "orchestrater"))
    assert "unknown seat 'orchestrater'" in message and "coach" in message


@pytest.mark.parametrize("owners", ['["ana", "ben"]', '["ana", "ana", "cy"]'])
def test_a_list_of_more_than_one_owner_is_two_owners(owners: str) -> None:
    message = refusal(seat("coach", owner=owners))
    assert "seat coach has" in message and "owners" in message and "one seat, one owner" in message


def test_a_list_of_exactly_one_owner_is_that_owner() -> None:
    chart = SeatChart.parse(seat("coach", owner='["ana"]'), "team.toml")
    assert chart.owner_of("coach") == "ana"


@pytest.mark.parametrize("owner", ['""', '"  "', "[]"])
def test_an_empty_owner_is_no_owner(owner: str) -> None:
    assert "seat coach has no owner" in refusal(seat("coach", owner=owner))


def test_a_missing_owner_is_refused() -> None:
    assert "seat coach has no owner" in refusal('[seat.coach]\njob = "plans"\n')


def test_an_owner_that_is_not_text_is_refused() -> None:
    assert "owner must be a string" in refusal(seat("coach", owner="3"))


def test_a_seat_delegating_to_itself_is_a_cycle() -> None:
    message = refusal(seat("coach", "coach"))
    assert "cycle coach → coach" in message and "itself" in message


def test_a_cycle_is_named_from_its_first_seat() -> None:
    text = seat("person", "coach") + seat("coach", "orchestrator") + seat("orchestrator", "coach")
    assert "delegation cycle coach → orchestrator → coach" in refusal(text)


def test_a_longer_cycle_is_named_whole() -> None:
    text = seat("c", "a") + seat("a", "b") + seat("b", "c")
    assert "delegation cycle a → b → c → a" in refusal(text)


def test_a_chain_of_four_hand_offs_is_too_deep_and_named() -> None:
    message = refusal(chain("a", "b", "c", "d", "e"))
    assert "a → b → c → d → e" in message and "4 hand-offs" in message
    assert "nobody delegates to" in message


def test_a_chain_of_three_hand_offs_is_allowed() -> None:
    assert SeatChart.parse(chain("a", "b", "c", "d"), "team.toml").depth_of("d") == 3


def test_bad_toml_is_refused_with_its_line() -> None:
    message = refusal('[seat.coach]\nowner = "ops"\njob = plans\n')
    assert "not valid TOML" in message and "line 3" in message


def test_an_unknown_key_is_refused_by_name() -> None:
    message = refusal(seat("coach") + 'budget = 3\n"ow ner" = "x"\n')
    assert "unknown keys ['budget', 'ow ner']" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no [seat.NAME] tables"),
        ("[seat]\n", "no [seat.NAME] tables"),
        ('[seats.coach]\nowner = "ops"\n', "unknown top-level keys ['seats']"),
        ('[seat]\ncoach = "ops"\n', "seat.coach is not a table"),
        ('[seat.Coach]\nowner = "ops"\n', "seat name 'Coach'"),
        ('[seat.coach]\nowner = "ops"\ndelegates_to = "sender"\n', "delegates_to must be a list"),
        ('[seat.coach]\nowner = "ops"\ndelegates_to = [1]\n', "delegates_to must be a list"),
        ('[seat.coach]\nowner = "ops"\njob = 3\n', "job must be a string"),
    ],
)
def test_other_malformed_charts_are_refused(text: str, problem: str) -> None:
    assert problem in refusal(text)


@given(st.text(max_size=200))
def test_any_text_either_parses_or_is_refused_in_one_line(text: str) -> None:
    try:
        SeatChart.parse(text, "fuzz.toml")
    except SeatChartError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("seat chart fuzz.toml: ")


# Random delegation graphs: edges only run from a lower to a higher number, so none cycles.

DAGS = st.integers(1, 7).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.sets(st.sampled_from([(a, b) for b in range(n) for a in range(b)]))
        if n > 1
        else st.just(set()),
    )
)


def longest_chain(n: int, edges: set[tuple[int, int]]) -> int:
    depth = [0] * n
    for a, b in sorted(edges):
        depth[b] = max(depth[b], depth[a] + 1)
    return max(depth)


def dag_text(n: int, edges: set[tuple[int, int]]) -> str:
    return "".join(seat(f"s{i}", *(f"s{b}" for a, b in sorted(edges) if a == i)) for i in range(n))


@given(DAGS)
def test_a_random_acyclic_chart_parses_iff_its_longest_chain_is_at_most_three(
    dag: tuple[int, set[tuple[int, int]]],
) -> None:
    n, edges = dag
    deepest = longest_chain(n, edges)
    if deepest <= MAX_DEPTH:
        chart = SeatChart.parse(dag_text(n, edges), "dag.toml")
        assert max(chart.depth_of(name) for name in chart.seats) == deepest
        assert len(chart.deepest_chain()) == deepest + 1
    else:
        assert f"{deepest} hand-offs" in refusal(dag_text(n, edges))


@given(DAGS, st.data())
def test_a_random_chart_with_one_edge_back_up_a_path_is_a_cycle(
    dag: tuple[int, set[tuple[int, int]]], data: st.DataObject
) -> None:
    n, edges = dag
    if not edges:
        edges = {(0, 0)}
    low, high = data.draw(st.sampled_from(sorted(edges)))
    assert "delegation cycle" in refusal(dag_text(n, edges | {(high, low)}))


# Run-time checks


def test_check_allows_every_listed_hand_off_at_its_depth() -> None:
    chart = SeatChart.load()
    assert chart.check("person", "coach", 1) is None
    assert chart.check("coach", "orchestrator", 2) is None
    assert chart.check("orchestrator", "composer", 3) is None


@pytest.mark.parametrize(
    ("sender", "receiver", "depth", "reason"),
    [
        ("coach", "sender", 2, "coach may not delegate to sender (seat chart "),
        ("composer", "orchestrator", 3, "composer may not delegate to orchestrator"),
        ("intern", "coach", 1, "unknown seat 'intern'"),
        ("coach", "intern", 1, "unknown seat 'intern'"),
        ("orchestrator", "composer", 4, "deeper than 3"),
        ("person", "coach", 0, "depth 0"),
    ],
)
def test_check_refuses_unlisted_unknown_and_too_deep_hand_offs(
    sender: str, receiver: str, depth: int, reason: str
) -> None:
    refused = SeatChart.load().check(sender, receiver, depth)
    assert refused is not None and reason in refused and "\n" not in refused


def test_asking_about_an_unknown_seat_names_it() -> None:
    with pytest.raises(SeatChartError, match="no seat 'intern'"):
        SeatChart.load().owner_of("intern")


# Loading files, and the cache


def test_loading_a_missing_file_or_a_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SeatChartError, match=r"missing\.toml: no such file"):
        SeatChart.load(str(tmp_path / "missing.toml"))
    with pytest.raises(SeatChartError, match="is a directory"):
        SeatChart.load(str(tmp_path))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seats.toml"
    path.write_bytes(b'[seat.coach]\nowner = "\xff"\n')
    with pytest.raises(SeatChartError, match="not UTF-8"):
        SeatChart.load(str(path))


def test_the_cache_reads_a_file_once_and_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "seats.toml"
    path.write_text(chain("coach", "orchestrator"))
    first = seat_chart(str(path))
    assert seat_chart(str(path)) is first

    path.write_text(chain("coach", "orchestrator", "composer"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))

    assert set(seat_chart(str(path)).seats) == {"coach", "orchestrator", "composer"}


def test_the_cache_never_keeps_a_chart_that_went_bad(tmp_path: Path) -> None:
    path = tmp_path / "seats.toml"
    path.write_text(chain("coach", "orchestrator"))
    seat_chart(str(path))
    path.write_text(seat("coach", "coach") + "# now a cycle, and longer than before\n")
    with pytest.raises(SeatChartError, match="cycle"):
        seat_chart(str(path))
    path.unlink()
    with pytest.raises(SeatChartError, match="no such file"):
        seat_chart(str(path))


def test_the_cached_shipped_chart_is_the_shipped_chart() -> None:
    assert seat_chart() is seat_chart()
    assert seat_chart() == SeatChart.load()


def test_coachgraph_seats_names_the_chart_in_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Context().seats is None
    monkeypatch.setenv("COACHGRAPH_SEATS", "/etc/coachgraph/seats.toml")
    assert Context().seats == "/etc/coachgraph/seats.toml"
