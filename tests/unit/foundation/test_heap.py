"""freeze_heap / thaw_heap: what is alive at start leaves the collector's generations."""

from __future__ import annotations

import gc

import pytest
from comradarr_runtime import freeze_heap, thaw_heap
from comradarr_runtime._heap import YOUNG_THRESHOLD

pytestmark = pytest.mark.unit


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_freeze_exempts_what_is_alive_and_thaw_returns_it() -> None:
    alive = ["lives as long as the process"]
    freeze_heap()
    try:
        assert gc.get_freeze_count() > 0
        assert not _tracked(alive)  # no collection walks it now
        later = ["made after the freeze"]
        assert _tracked(later)  # new objects are collected as usual
    finally:
        thaw_heap()
    assert gc.get_freeze_count() == 0
    assert _tracked(alive)


def test_freeze_collects_garbage_first() -> None:
    """A cycle that is garbage at the freeze is freed, not kept frozen."""

    class Node:
        ref: object

    cycle = Node()
    cycle.ref = cycle
    del cycle
    freeze_heap()
    thaw_heap()  # a frozen cycle would be tracked again now
    assert not any(type(o) is Node for o in gc.get_objects())


def test_young_collections_run_less_often_while_frozen() -> None:
    before = gc.get_threshold()
    freeze_heap()
    try:
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
    finally:
        thaw_heap()
    assert gc.get_threshold() == before
