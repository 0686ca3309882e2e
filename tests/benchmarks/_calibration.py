"""The machine's speed at the moment of a benchmark, printed beside its figures.

The benchmark machines' vCPUs run at speeds that drift by tens of percent from one minute to
the next, and by up to 2x between sessions: the same code at the same commit gave a
dispatcher CPU per command of 5.1 ms one session and 10.2 ms the next. A fixed piece of work
of the kind the services do (validate an *arr record with pydantic, encode and decode it with
orjson), timed next to the figures, tells a slower machine from slower code.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

_EPISODE: dict[str, Any] = {
    "id": 1,
    "seriesId": 1,
    "tvdbId": 1000001,
    "episodeFileId": 1,
    "seasonNumber": 1,
    "episodeNumber": 1,
    "title": "Homecoming",
    "airDateUtc": "2021-05-23T00:00:00Z",
    "hasFile": True,
    "monitored": True,
    "episodeFile": {
        "id": 1,
        "seriesId": 1,
        "seasonNumber": 1,
        "relativePath": "Season 01/S01E01 [Bluray-1080p].mkv",
        "size": 3758096384,
        "dateAdded": "2021-05-23T01:00:00Z",
        "quality": {
            "quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
            "revision": {"version": 1, "real": 0, "isRepack": False},
        },
        "qualityCutoffNotMet": False,
    },
}
ITEMS = 10_000


def calibration_ms(repeats: int = 3) -> float:
    """Fastest of `repeats` timings (ms) of a fixed parse-validate-encode workload."""
    from comradarr_arr import Episode

    body = orjson.dumps([_EPISODE] * 100)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(ITEMS // 100):
            for raw in orjson.loads(body):
                orjson.dumps(Episode.model_validate(raw).model_dump())
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)
