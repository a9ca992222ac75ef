"""The planner: budget, own content, scarcest first, determinism, spreading, safe surplus drops."""

from __future__ import annotations

import hashlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.copies import ContentState
from mirror.node.copies.planner import PlanInput, is_extra, make_plan, matches, rank, ranker

NODES = [f"node-{i}" for i in range(8)]


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def state(i: int, size: int = 10, copies: int = 0, *, held: bool = False, own: bool = False,
          collection: str = "c", license: str = "CC0-1.0", holders: tuple[str, ...] = ()) -> ContentState:
    return ContentState(sha256=sha(i), cid=f"cid-{i}", size=size, copies=copies, held=held, own=own,
                        collections=frozenset({collection}), licenses=frozenset({license}),
                        holders=holders)


ITEMS = st.lists(st.tuples(st.integers(1, 50), st.integers(0, 5), st.booleans(), st.booleans(),
                           st.sampled_from(["a", "b"])), max_size=40)


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    states = [state(i, size, copies, held=held, own=own, collection=collection,
                    holders=tuple(NODES[1:1 + copies]) if held else ())
              for i, (size, copies, held, own, collection) in enumerate(draw(ITEMS))]
    return PlanInput(NODES[0], draw(st.integers(0, 600)), states, copies=draw(st.integers(1, 4)),
                     collections=tuple(draw(st.sets(st.sampled_from(["a", "b"]), max_size=1))))


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_budget_is_never_exceeded_and_own_content_is_never_dropped(request: PlanInput) -> None:
    plan = make_plan(request)
    own = {s.sha256 for s in request.states if s.own}
    held = {s.sha256 for s in request.states if s.held}
    dropped = {s.sha256 for s in plan.drop}
    assert not own & dropped and not own & {s.sha256 for s in plan.fetch}
    assert dropped <= held and not held & {s.sha256 for s in plan.fetch}
    kept = sum(s.size for s in request.states if s.held and not s.own and s.sha256 not in dropped)
    assert kept + plan.fetch_bytes == plan.after
    assert plan.after <= request.budget
    assert all(s.copies < request.copies for s in plan.fetch)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_scarcest_first_and_deterministic(request: PlanInput) -> None:
    plan = make_plan(request)
    copies = [s.copies for s in plan.fetch]
    assert copies == sorted(copies)
    shuffled = request.states[:]
    random.Random(7).shuffle(shuffled)
    again = make_plan(PlanInput(request.node_id, request.budget, shuffled, request.copies,
                                request.collections))
    assert [s.sha256 for s in again.fetch] == [s.sha256 for s in plan.fetch]
    assert {s.sha256 for s in again.drop} == {s.sha256 for s in plan.drop}


@given(st.text(max_size=60), st.text("0123456789abcdefABCDEF", min_size=64, max_size=64))
def test_a_nodes_ranker_gives_its_ranks(node_id: str, sha256: str) -> None:
    expected = hashlib.sha256(f"{node_id}\x00{sha256.lower()}".encode()).digest()[:8]
    assert ranker(node_id)(sha256) == rank(node_id, sha256) == int.from_bytes(expected, "big")


@given(st.integers(0, 30), st.integers(1, 3))
def test_with_equal_sizes_the_fetch_list_is_the_scarcest_prefix(slots: int, k: int) -> None:
    states = [state(i, 10, i % 4) for i in range(40)]
    plan = make_plan(PlanInput("me", slots * 10, states, copies=k))
    wanted = sorted((s for s in states if s.copies < k), key=lambda s: (s.copies, rank("me", s.sha256)))
    assert [s.sha256 for s in plan.fetch] == [s.sha256 for s in wanted[:slots]]


def test_nodes_with_the_same_view_pick_mostly_different_items() -> None:
    states = [state(i) for i in range(100)]
    picks = [{s.sha256 for s in make_plan(PlanInput(n, 100, states)).fetch} for n in NODES[:5]]
    assert all(len(p) == 10 for p in picks)
    assert len(set().union(*picks)) >= 35          # random picks would overlap as little


def test_surplus_is_dropped_only_for_a_scarcer_content_and_never_below_k() -> None:
    me = "me"
    holders = ("a", "b", "c", "d")
    crowded = state(1, 10, 4, held=True, holders=holders)
    everyone = ("me",) + holders
    extras = [n for n in everyone if is_extra(state(1, 10, 4, held=True,
                                                    holders=tuple(h for h in everyone if h != n)), n, 3)]
    assert len(extras) == 2                        # five holders, K = 3: exactly two let go
    scarce = state(2, 10, 0)
    full = PlanInput(me, 10, [crowded, scarce], copies=3)
    plan = make_plan(full)
    if me in extras:
        assert [s.sha256 for s in plan.drop] == [crowded.sha256]
        assert [s.sha256 for s in plan.fetch] == [scarce.sha256]
    else:
        assert plan.drop == [] and plan.fetch == []
    roomy = make_plan(PlanInput(me, 20, [crowded, scarce], copies=3))
    assert roomy.drop == [] and [s.sha256 for s in roomy.fetch] == [scarce.sha256]


def test_a_shrunken_budget_drops_until_it_fits_never_own() -> None:
    states = [state(1, 30, 1, held=True, holders=("a",)), state(2, 30, 3, held=True, holders=("a", "b", "c")),
              state(3, 30, 0, held=True), state(4, 500, 0, held=True, own=True)]
    plan = make_plan(PlanInput("me", 40, states, copies=3))
    assert plan.used == 90 and plan.after <= 40
    assert [s.sha256 for s in plan.drop] == [sha(2), sha(1)]      # most copies elsewhere first


def test_filters_limit_what_is_fetched_and_make_held_content_surplus() -> None:
    states = [state(1, collection="maps"), state(2, collection="books", license="CC-BY-4.0"),
              state(3, collection="books", license="CC-BY-SA-4.0", held=True)]
    assert [s.sha256 for s in make_plan(PlanInput("me", 100, states, collections=("books",))).fetch] == [sha(2)]
    by_license = make_plan(PlanInput("me", 100, states, licenses=("cc-by-4.*",)))
    assert [s.sha256 for s in by_license.fetch] == [sha(2)]
    tight = make_plan(PlanInput("me", 10, states, collections=("maps",)))
    assert [s.sha256 for s in tight.drop] == [sha(3)] and [s.sha256 for s in tight.fetch] == [sha(1)]
    assert matches(states[0], [], []) and not matches(states[0], ["books"], [])


def test_max_fetch_makes_a_batch() -> None:
    states = [state(i) for i in range(20)]
    plan = make_plan(PlanInput("me", 1000, states, max_fetch=3))
    assert len(plan.fetch) == 3 and plan.wanted == 20
