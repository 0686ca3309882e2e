"""Season pack or episode batch, movie batches, per-series limits."""

from __future__ import annotations

from comradarr_dispatcher.batching import Candidate, plan_batch


def ep(rid: int, arr: int, series: int, season: int = 1, **kw: object) -> Candidate:
    return Candidate(
        registry_id=rid,
        content_type="episode",
        search_type="gap",
        arr_id=arr,
        series_arr_id=series,
        season_number=season,
        **kw,  # type: ignore[arg-type]
    )


def plan(cands: list[Candidate], **kw: object):  # type: ignore[no-untyped-def]
    args = {
        "batch_size": 10,
        "series_busy": {},
        "per_series_limit": 1,
        "season_pack_threshold": 0.5,
    }
    args.update(kw)
    return plan_batch(cands, **args)  # type: ignore[arg-type]


def test_fully_aired_mostly_missing_season_is_a_pack() -> None:
    c = [ep(1, 11, 7, season_fully_aired=True, season_missing_share=0.8), ep(2, 12, 7)]
    b = plan(c)
    assert b is not None and b.command_name == "SeasonSearch"
    assert (b.series_arr_id, b.season_number) == (7, 1)


def test_airing_or_below_threshold_or_failed_pack_goes_by_episodes() -> None:
    for extra in (
        {"season_fully_aired": False, "season_missing_share": 1.0},
        {"season_fully_aired": True, "season_missing_share": 0.2},
        {"season_fully_aired": True, "season_missing_share": 1.0, "season_pack_failed": True},
    ):
        b = plan([ep(1, 11, 7, **extra), ep(2, 12, 7, **extra), ep(3, 13, 8)])
        assert b is not None and b.command_name == "EpisodeSearch"
        assert b.arr_ids == [11, 12]  # one series per command


def test_episode_batches_hold_at_most_ten_and_the_profile_size() -> None:
    many = [ep(i, 100 + i, 7) for i in range(25)]
    assert len(plan(many).arr_ids) == 10
    assert len(plan(many, batch_size=3).arr_ids) == 3


def test_busy_series_is_skipped() -> None:
    b = plan([ep(1, 11, 7), ep(2, 21, 8)], series_busy={7: 1})
    assert b is not None and b.arr_ids == [21]
    assert plan([ep(1, 11, 7)], series_busy={7: 1}) is None


def test_movies_batch_up_to_ten() -> None:
    movies = [
        Candidate(registry_id=i, content_type="movie", search_type="gap", arr_id=500 + i)
        for i in range(12)
    ]
    b = plan(movies)
    assert b is not None and b.command_name == "MoviesSearch" and len(b.arr_ids) == 10
