"""The garbage collector's view of a long-lived service process."""

from __future__ import annotations

import gc

# Young collections after this many container allocations (CPython's default: 700). The
# services allocate in bursts (a page of JSON parsed into models, a batch of rows), and with
# 700 a young collection runs every few records, walking whatever a batch still holds: a
# full sync of 200,000 episodes ran about 400 of them, 0.08-0.11 s of its CPU, against 0.02
# here. Garbage that is not a cycle goes by reference counts whatever the threshold, so the
# larger one only lets cycles wait a little longer.
YOUNG_THRESHOLD = 10_000
_saved: list[tuple[int, int, int]] = []


def freeze_heap() -> None:
    """Collect once, then exempt every object alive now from later collections, and
    collect the young generation less often (YOUNG_THRESHOLD).

    Called when a service is up: what is alive then (modules, settings, pools, services)
    lives as long as the process, yet every full collection would walk all of it again,
    ~60 ms of CPU in an all-in-one process (~96,000 objects once imported), paid every few
    thousand requests, commands or sync batches. Frozen objects are still freed by their
    reference counts; only reference cycles among them wait for thaw_heap.
    """
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    _saved.append(threshold)
    gc.set_threshold(max(threshold[0], YOUNG_THRESHOLD), *threshold[1:])


def thaw_heap() -> None:
    """Return the frozen objects to the collector (a stopped runner's cycles can go), and
    restore the collector's thresholds."""
    gc.unfreeze()
    if _saved:
        gc.set_threshold(*_saved.pop())
