"""One connector's library pull: stream from the *arr app, write to the mirror in batches."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import httpx
import orjson
import structlog
from comradarr_arr import (
    ArrClient,
    ArrNotFoundError,
    Episode,
    Movie,
    Quality,
    QualityModel,
    QualityProfile,
    Revision,
    Series,
    Shape,
)
from prometheus_client import REGISTRY

from .writer import MOVIE_COLUMNS, MirrorWriter, QualityRef, QualityTable

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Series | Movie)

Progress = Callable[[int, int | None], Awaitable[None]]
# A digest no stored row has (known_movies maps a movie to None before it had a digest).
_ABSENT = object()


class RequestCounter(httpx.AsyncBaseTransport):
    """Wraps a transport to count requests, in total and to the episode endpoint."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.total = 0
        self.episode = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then pass the request on."""
        self.total += 1
        if request.url.path.endswith("/episode"):
            self.episode += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


class _MirrorMovie(Movie):
    """Movie plus the release dates the mirror keeps (the shared model leaves them out)."""

    in_cinemas: str | None = None
    physical_release: str | None = None
    digital_release: str | None = None
    release_date: str | None = None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass(slots=True)
class SyncResult:
    """What one sync did."""

    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    skipped_malformed: int = 0
    series_refetched: int = 0
    requests_made: int = 0
    episode_requests: int = 0
    # Series whose episode list the app answered 404 for (deleted between the list and the
    # request): skipped, counted, and tried again by the next sync.
    series_skipped: int = 0
    deletions_skipped: list[str] = field(default_factory=list)


def series_fingerprint(s: Series) -> str:
    """Digest of the statistics that change whenever any of a series' episodes change."""
    st = s.statistics
    parts: list[Any] = [
        None
        if st is None
        else (
            st.episode_file_count,
            st.episode_count,
            st.total_episode_count,
            st.size_on_disk,
        ),
        s.previous_airing.isoformat() if s.previous_airing else None,
        s.next_airing.isoformat() if s.next_airing else None,
    ]
    for season in sorted(s.seasons, key=lambda x: x.season_number):
        ss = season.statistics
        parts.append(
            (
                season.season_number,
                season.monitored,
                None
                if ss is None
                else (
                    ss.episode_file_count,
                    ss.episode_count,
                    ss.total_episode_count,
                    ss.size_on_disk,
                    ss.previous_airing.isoformat() if ss.previous_airing else None,
                    ss.next_airing.isoformat() if ss.next_airing else None,
                ),
            )
        )
    return hashlib.sha1(orjson.dumps(parts), usedforsecurity=False).hexdigest()


def expected_episodes(s: Series) -> int:
    """Episodes the app says the series has (every season, specials included)."""
    return sum(season.statistics.total_episode_count for season in s.seasons if season.statistics)


def _utc(value: datetime | None) -> datetime | None:
    """The same instant with the standard library's UTC as its zone.

    pydantic gives every datetime it parses a TzInfo object of its own, which the garbage
    collector tracks: rows waiting in a batch would keep them all alive, and each full
    collection walks them. (Episode rows are encoded per series at once, and skip this.)
    """
    if value is None or value.tzinfo is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def _series_row(s: Series, imdb: str | None) -> tuple[Any, ...]:
    st = s.statistics
    return (
        s.id, None if s.tvdb_id is None else s.tvdb_id, imdb, s.title or "", s.sort_title,
        s.status, s.series_type, s.year, s.monitored, s.quality_profile_id, _utc(s.added),
        _utc(s.first_aired), _utc(s.previous_airing), _utc(s.next_airing),
        st.season_count if st else 0, st.episode_count if st else 0,
        st.episode_file_count if st else 0, st.total_episode_count if st else 0,
        st.size_on_disk if st else 0,
    )  # fmt: skip


def _season_rows(s: Series) -> list[tuple[Any, ...]]:
    rows = []
    for season in s.seasons:
        st = season.statistics
        total = st.total_episode_count if st else 0
        nxt = _utc(st.next_airing) if st else None
        prev = _utc(st.previous_airing) if st else None
        rows.append(
            (
                s.id,
                season.season_number,
                season.monitored,
                st.episode_count if st else 0,
                st.episode_file_count if st else 0,
                total,
                st.size_on_disk if st else 0,
                prev,
                nxt,
                total > 0 and nxt is None,
                prev is not None and nxt is not None,
            )
        )
    return rows


# A library has a handful of distinct quality models; dumping one per file through the
# model (model_dump) costs more than the rest of the row. Known by the values of its two
# parts, read straight from their __dict__ (a pydantic model keeps every field there, in
# declaration order): exact while the model has just these two parts, of these classes.
# Any other model is known by its JSON.
_CACHEABLE_QUALITY = set(QualityModel.model_fields) == {"quality", "revision"}


def _quality_ref(q: QualityModel, table: QualityTable) -> QualityRef:
    """The quality's ref in the sync's QualityTable (added when first seen)."""
    quality, revision = q.quality, q.revision
    key: Any = None
    if _CACHEABLE_QUALITY and type(quality) is Quality and type(revision) is Revision:
        key = (*quality.__dict__.values(), *revision.__dict__.values())
        try:
            ref = table.get(key)
        except TypeError:  # a field value that cannot be hashed: known by its JSON
            key = None
        else:
            if ref is not None:
                return ref
    encoded = orjson.dumps(q.to_wire())
    if key is None:
        key = encoded
        ref = table.get(key)
        if ref is not None:
            return ref
    return table.add(key, encoded)


def _episode_row(e: Episode, qualities: QualityTable) -> tuple[Any, ...]:
    f = e.episode_file
    has_file = e.has_file or (f is not None)
    quality = _quality_ref(f.quality, qualities) if f and f.quality else None
    return (
        e.id, e.series_id, e.season_number, e.episode_number, e.absolute_episode_number,
        e.title, e.air_date_utc, e.monitored, has_file,
        (e.episode_file_id or None) if has_file else None, quality,
        bool(f and f.quality_cutoff_not_met), f.custom_format_score if f else None,
        f.size if f else None, e.last_search_time,
    )  # fmt: skip


# Where a movie row holds its quality (a QualityRef).
_MOVIE_QUALITY = MOVIE_COLUMNS.index("quality_id")


def _movie_row(m: Movie, qualities: QualityTable) -> tuple[Any, ...]:
    f = m.movie_file
    has_file = bool(m.has_file) or (f is not None)
    quality = _quality_ref(f.quality, qualities) if f and f.quality else None
    extra: tuple[Any, ...] = (None, None, None, None)
    if isinstance(m, _MirrorMovie):
        extra = (
            _when(m.in_cinemas),
            _when(m.physical_release),
            _when(m.digital_release),
            _when(m.release_date),
        )
    return (
        m.id, m.tmdb_id, m.imdb_id, m.foreign_id or m.stash_id, m.title or "", m.sort_title,
        m.year, m.status, m.monitored, m.is_available, m.quality_profile_id, has_file,
        (m.movie_file_id or (f.id if f else None)) if has_file else None, quality,
        bool(f and f.quality_cutoff_not_met), f.custom_format_score if f else None,
        f.size if f else None, _utc(m.last_search_time),
        _utc(m.added), *extra,
    )  # fmt: skip


def _profile_row(p: QualityProfile) -> tuple[Any, ...]:
    return (
        p.id, p.name, p.upgrade_allowed, p.cutoff, p.min_format_score, p.cutoff_format_score,
        p.min_upgrade_format_score,
    )  # fmt: skip


def movie_digest(row: tuple[Any, ...]) -> int:
    """The content_hash of a _movie_row: its values with the quality itself, not its id."""
    ref = row[_MOVIE_QUALITY]
    if ref is None:
        return row_hash(*row)
    return row_hash(*row[:_MOVIE_QUALITY], ref.fragment, *row[_MOVIE_QUALITY + 1 :])


def row_hash(*parts: Any) -> int:
    """Stable 64-bit digest of row values (the mirror's content_hash)."""
    digest = hashlib.blake2b(orjson.dumps(parts), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _malformed(name: str, endpoint: str) -> float:
    value = REGISTRY.get_sample_value(
        "comradarr_arr_malformed_records_total", {"connector": name, "endpoint": endpoint}
    )
    return value or 0.0


async def _stream_movies(client: ArrClient) -> AsyncIterator[Movie]:
    # The shared client's Movie drops release dates; read the same endpoint with a model
    # that keeps them, and fall back to the public reader if that helper ever goes away.
    stream = getattr(client, "_stream_array", None)
    info = await client.api_info()
    if stream is None or info.shape is not Shape.MOVIE:
        async for m in client.movies():
            yield m
        return
    async for item in stream(f"{info.api_base}/movie", endpoint="movie", model=_MirrorMovie):
        yield item


class _Throttle:
    """Calls progress at most once per interval (and always at the end)."""

    def __init__(self, progress: Progress | None, interval: float) -> None:
        self.progress = progress
        self.interval = interval
        self.last = 0.0

    async def __call__(self, done: int, total: int | None, *, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            await self.progress(done, total)


# A write: a method of MirrorWriter with its arguments bound, run on one connection's writer.
Job = Callable[[MirrorWriter], Awaitable[None]]


class _WriteBehind:
    """Database writes, run on their own tasks (one per connection) while the caller reads.

    Jobs are independent batches (disjoint series or movies), taken in the order submitted
    by whichever connection is free; fence() waits until every job so far is written, and
    after_all() holds later jobs back until then without holding up the caller (the series
    before their episodes). submit waits while `depth` jobs are queued, which bounds memory
    to a few batches. A failed job fails the next submit, fence or close, and the
    queued jobs never run.

    With standby, writing starts on the first connection and each other one joins when a
    job finds the queue full, that is once the database falls behind the reads: every busy
    connection is a server process taking CPU from the reads (on a small machine, the same
    cores), and one keeps up with an episode library. A movie list (wider rows, more
    indexes, arriving faster) is written on every connection from the start.
    """

    def __init__(
        self, writers: Sequence[MirrorWriter], depth: int, *, standby: bool = False
    ) -> None:
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[None]] | None] = asyncio.Queue(
            maxsize=depth
        )
        # One future per job not yet written (done however the job ended).
        self._unwritten: set[asyncio.Future[None]] = set()
        started = 1 if standby else len(writers)
        self.tasks = [asyncio.create_task(self._run(w)) for w in writers[:started]]
        self._standby = list(writers[started:])

    async def _run(self, writer: MirrorWriter) -> None:
        while (item := await self._queue.get()) is not None:
            job, written = item
            try:
                await job(writer)
            finally:
                written.set_result(None)
                self._queue.task_done()
        self._queue.task_done()

    def after_all(self) -> Callable[[Job], Job]:
        """A wrapper for jobs to come: each starts once every job submitted so far is
        written, without making the caller wait (fence does). Every later job must be
        wrapped, or it could be written first."""
        earlier = list(self._unwritten)

        def wrap(job: Job) -> Job:
            async def run(writer: MirrorWriter) -> None:
                if earlier:
                    await asyncio.wait(earlier)
                self._raise_if_stopped()  # a writer failed: nothing that follows is written
                await job(writer)

            return run

        return wrap

    async def _until(self, waiting: Awaitable[Any]) -> None:
        """Wait for waiting, or for a writer to fail (raising its error)."""
        wait = asyncio.ensure_future(waiting)
        await asyncio.wait([wait, *self.tasks], return_when=asyncio.FIRST_COMPLETED)
        if wait.done():
            return
        wait.cancel()
        self._raise_if_stopped()  # a writer finished first: it failed

    def _raise_if_stopped(self) -> None:
        """Raise the error of a writer that stopped (writers stop early only by failing)."""
        stopped = [task for task in self.tasks if task.done()]
        for task in stopped:
            task.result()  # the writer's error
        if stopped:
            raise RuntimeError("write-behind closed")

    async def submit(self, job: Job) -> None:
        """Queue a job, waiting while the queue is full (and calling in a standby writer)."""
        if self._standby and self._queue.full():
            self.tasks.append(asyncio.create_task(self._run(self._standby.pop(0))))
        written = asyncio.get_running_loop().create_future()
        self._unwritten.add(written)
        written.add_done_callback(self._unwritten.discard)
        await self._until(self._queue.put((job, written)))

    async def fence(self) -> None:
        """Wait until every job submitted so far has been written."""
        await self._until(self._queue.join())

    async def close(self) -> None:
        """Wait for every queued job to finish; then the writers stop."""
        await self.fence()
        for _ in self.tasks:
            await self._queue.put(None)
        await asyncio.gather(*self.tasks)

    async def cancel(self) -> None:
        """Stop the writers (a no-op once they have finished)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def run_sync(
    *,
    client: ArrClient,
    writer: MirrorWriter,
    full: bool,
    batch_rows: int = 5000,
    fetch_concurrency: int = 4,
    progress: Progress | None = None,
    progress_interval: float = 1.0,
    more_writers: Sequence[MirrorWriter] = (),
    series_ids: Sequence[int] = (),
    movie_ids: Sequence[int] = (),
) -> SyncResult:
    """Pull one library into the mirror: series (+ changed series' episodes) or movies.

    writer reads what the mirror holds and deletes what vanished; batches are written by it
    and by more_writers (the same connector, other connections) in parallel. series_ids or
    movie_ids (the app's ids) limit the sync to those items: each is read on its own (with
    all its episodes), nothing else is read, and nothing is deleted.
    """
    result = SyncResult()
    info = await client.api_info()
    writers = [writer, *more_writers]
    for w in writers:
        await w.prepare()
    tick = _Throttle(progress, progress_interval)
    name = client.config.name
    scoped = bool(series_ids or movie_ids)
    # The profiles first: discovery reads each file's format score against its profile's.
    # A scoped sync (a webhook's follow-up) reads only its items and keeps the profiles.
    if not scoped:
        await writer.write_profiles([_profile_row(p) async for p in client.quality_profiles()])
    before = {ep: _malformed(name, ep) for ep in ("series", "episode", "movie")}
    if info.shape is Shape.SERIES and (series_ids or not scoped):
        only_series = _only(client, Series, series_ids) if scoped else None
        await _sync_series(
            client,
            writers,
            result,
            full or scoped,
            batch_rows,
            fetch_concurrency,
            tick,
            only_series,
        )
    elif info.shape is Shape.MOVIE and (movie_ids or not scoped):
        only_movies: AsyncIterator[Movie] | None = (
            _only(client, _MirrorMovie, movie_ids) if scoped else None
        )
        await _sync_movies(client, writers, result, batch_rows, tick, only_movies)
    result.skipped_malformed = int(sum(_malformed(name, ep) - before[ep] for ep in before))
    result.inserted = sum(w.counts.inserted for w in writers)
    result.updated = sum(w.counts.updated for w in writers)
    result.deleted = sum(w.counts.deleted for w in writers)
    await tick(result.fetched, result.fetched, force=True)
    return result


async def _only(client: ArrClient, kind: type[M], ids: Sequence[int]) -> AsyncIterator[M]:
    """The named series or movies, one request each (those the app no longer has skipped)."""
    for item_id in dict.fromkeys(ids):
        item = await client.one(kind, item_id=item_id)
        if item is not None:
            yield item


async def _sync_movies(
    client: ArrClient,
    writers: Sequence[MirrorWriter],
    result: SyncResult,
    batch_rows: int,
    tick: _Throttle,
    source: AsyncIterator[Movie] | None = None,
) -> None:
    writer = writers[0]
    name = client.config.name
    before = _malformed(name, "movie")
    # Movies whose values hash as the mirror's row did are not staged at all: a re-read
    # of an unchanged library writes nothing (the merge would have changed nothing).
    known = await writer.known_movies()
    qualities = QualityTable()
    seen: list[int] = []
    # The batch: movies the mirror holds, changed (merged), and movies new to it (copied).
    changed: dict[int, tuple[Any, ...]] = {}
    new: dict[int, tuple[Any, ...]] = {}
    rehash = False
    submitted: set[int] = set()
    # Batches are written while the next one is read. The list arrives much faster than
    # episodes (one request), so smaller batches keep up with it and leave less to write
    # once it has been read.
    batch_rows = max(100, batch_rows // 4)
    writes = _WriteBehind(writers, depth=2)

    async def submit() -> None:
        nonlocal rehash
        job = partial(
            MirrorWriter.write_movies,
            movies=list(changed.values()),
            new=list(new.values()),
            rehash=rehash,
            qualities=qualities,
        )
        await writes.submit(job)
        submitted.update(changed, new)
        changed.clear()
        new.clear()
        rehash = False

    try:
        async for movie in source if source is not None else _stream_movies(client):
            result.fetched += 1
            seen.append(movie.id)
            if movie.id in submitted:  # listed twice: written once (batches run in parallel)
                continue
            row = _movie_row(movie, qualities)
            digest = movie_digest(row)
            old = known.get(movie.id, _ABSENT)
            if old is _ABSENT:
                new[movie.id] = (*row, digest)
            elif old == digest:
                changed.pop(movie.id, None)
                continue
            else:
                rehash = True
                changed[movie.id] = (*row, digest)
            if len(changed) + len(new) >= batch_rows:
                await submit()
                await tick(result.fetched, None)
        if changed or new:
            await submit()
        await writes.close()
    finally:
        await writes.cancel()
    if source is not None:
        return  # a scoped sync read only some movies: nothing can be known to be gone
    if _malformed(name, "movie") > before:
        # A record we could not read may be a movie that still exists: keep what we have.
        result.deletions_skipped.append("movies: malformed records in the list")
    elif not known.keys() <= set(seen):
        await writer.delete_vanished(table="movies", seen=seen)


# One series' episodes in a batch: encoded, or rows holding a quality that had no id yet.
_Episodes = bytes | list[tuple[Any, ...]]


def _encoded(
    encode: Callable[[Sequence[tuple[Any, ...]]], bytes], rows: list[tuple[Any, ...]]
) -> _Episodes:
    """A series' episode rows encoded at once (a batch holds one bytes object per series, not
    its rows), unless a quality among them has no id yet: the writer stores it first and
    encodes them then (the first series of a sync)."""
    try:
        return encode(rows)
    except orjson.JSONEncodeError:
        if not any(type(v) is QualityRef and v.id is None for row in rows for v in row):
            raise
        return rows


@dataclass(slots=True)
class _Todo:
    series_id: int
    fingerprint: str
    expected: int
    # Not in the mirror when the sync began: none of its episodes can be stored yet.
    fresh: bool


async def _sync_series(
    client: ArrClient,
    writers: Sequence[MirrorWriter],
    result: SyncResult,
    full: bool,
    batch_rows: int,
    fetch_concurrency: int,
    tick: _Throttle,
    source: AsyncIterator[Series] | None = None,
) -> None:
    name = client.config.name
    before = _malformed(name, "series")
    writer = writers[0]
    # One read of what the mirror holds: series whose values (with their seasons) hash as
    # stored are not staged, and the episodes fingerprint decides which series' episodes
    # are read again, so an unchanged library costs no writes.
    known = await writer.known_series()
    seen: list[int] = []
    todo: list[_Todo] = []
    flushed: set[int] = set()
    series_batch: dict[int, Series] = {}
    # Series batches are written while the list is read on and the episodes are fetched;
    # episode batches wait for them (after_all), so a series' row is always stored before
    # its episodes. Episode batches are bytes (a few MB at this depth): room for the
    # database's pauses without holding up the fetch.
    writes = _WriteBehind(writers, depth=4, standby=True)

    async def flush_series() -> None:
        items = list(series_batch.values())
        flushed.update(series_batch)
        series_batch.clear()
        rows: list[tuple[Any, ...]] = []
        seasons: list[tuple[Any, ...]] = []
        rehash = False
        for s in items:
            row = _series_row(s, getattr(s, "imdb_id", None))
            season_rows = _season_rows(s)
            digest = row_hash(row, season_rows)
            old = known.get(s.id)
            fingerprint = series_fingerprint(s)
            if old is None or old.content_hash != digest:
                rehash = rehash or old is not None
                rows.append((*row, digest))
                seasons.extend(season_rows)
            if full or old is None or old.episodes_fingerprint != fingerprint:
                todo.append(_Todo(s.id, fingerprint, expected_episodes(s), old is None))
        if rows:
            job = partial(MirrorWriter.write_series, series=rows, seasons=seasons, rehash=rehash)
            await writes.submit(job)

    try:
        async for s in source if source is not None else client.series():
            result.fetched += 1
            seen.append(s.id)
            if s.id in flushed:  # listed twice: written and its episodes read once
                continue
            series_batch[s.id] = s
            if len(series_batch) >= 500:
                await flush_series()
        if series_batch:
            await flush_series()
        series_total = result.fetched
        total = series_total + sum(t.expected for t in todo)
        await tick(result.fetched, total)
        result.series_refetched = len(todo)
        if todo:
            await _sync_episodes(
                client,
                writes,
                result,
                todo,
                batch_rows,
                fetch_concurrency,
                tick,
                total,
                encode=writer.encode,
            )
        await writes.close()
    finally:
        await writes.cancel()
    if source is not None:
        return  # a scoped sync read only some series: nothing can be known to be gone
    if _malformed(name, "series") > before:
        result.deletions_skipped.append("series: malformed records in the list")
    elif not known.keys() <= set(seen):
        await writer.delete_vanished(table="series", seen=seen)


async def _sync_episodes(
    client: ArrClient,
    writes: _WriteBehind,
    result: SyncResult,
    todo: list[_Todo],
    batch_rows: int,
    fetch_concurrency: int,
    tick: _Throttle,
    total: int,
    encode: Callable[[Sequence[tuple[Any, ...]]], bytes],
) -> None:
    # Fetchers put one series' whole episode list at a time; the batcher gathers them into
    # batches for the writes queue, which writes one batch while the next one fills. The
    # queue holds about a batch of rows, so fetching and parsing go on while the database
    # merges (a few series per fetcher would stall them), and memory stays bounded by the
    # batch size.
    per_series = max(1, sum(t.expected for t in todo) // max(1, len(todo)))
    queue: asyncio.Queue[tuple[_Todo, _Episodes, int, bool] | None] = asyncio.Queue(
        maxsize=max(fetch_concurrency * 2, batch_rows // per_series)
    )
    pending = iter(todo)
    qualities = QualityTable()

    async def fetcher() -> None:
        for item in pending:
            rows: dict[int, tuple[Any, ...]] = {}
            try:
                async for e in client.episodes(series_id=item.series_id):
                    if e.series_id == item.series_id:
                        rows[e.id] = _episode_row(e, qualities)
            except ArrNotFoundError:
                # One series gone from the app mid-sync must not fail the whole sync: its
                # old rows and fingerprint stay, so the next sync looks at it again.
                result.series_skipped += 1
                log.info(
                    "series skipped: the app has no episodes for it (404)", series_id=item.series_id
                )
                continue
            # Fewer than the app's own count means records we could not read: keep the
            # old rows and the old fingerprint, so the next sync tries this series again.
            clean = len(rows) >= item.expected
            await queue.put((item, _encoded(encode, list(rows.values())), len(rows), clean))
            # A series' list is parsed without a pause for the event loop; yield after it,
            # so the writer's database replies wait for one series, not for every fetcher.
            await asyncio.sleep(0)

    async def batcher() -> None:
        rows: list[tuple[int, _Episodes]] = []
        count = 0
        complete: list[tuple[int, str]] = []
        incomplete: list[int] = []
        fresh: list[int] = []
        finished = 0
        # The series rows first; meanwhile episodes go on being fetched and batched.
        after_series = writes.after_all()

        async def submit() -> None:
            job = partial(
                MirrorWriter.write_episodes,
                episodes=rows,
                complete=complete,
                incomplete=incomplete,
                fresh=fresh,
                qualities=qualities,
            )
            await writes.submit(after_series(job))

        while True:
            got = await queue.get()
            if got is None:
                finished += 1
                if finished == workers:
                    break
                continue
            item, episode_rows, n, clean = got
            result.fetched += n
            count += n
            rows.append((item.series_id, episode_rows))
            if item.fresh:
                fresh.append(item.series_id)
            if clean:
                complete.append((item.series_id, item.fingerprint))
            else:
                incomplete.append(item.series_id)
            if count >= batch_rows:
                await submit()
                rows, complete, incomplete, fresh = [], [], [], []
                count = 0
                await tick(result.fetched, total)
        if rows or complete or incomplete:
            await submit()

    workers = max(1, min(fetch_concurrency, len(todo)))

    async def run_fetcher() -> None:
        try:
            await fetcher()
        finally:
            await queue.put(None)

    fetchers = [asyncio.create_task(run_fetcher()) for _ in range(workers)]
    batch = asyncio.create_task(batcher())
    try:
        # Surface the first failure of any side (the writes included) at once, cancelling
        # the rest.
        tasks: set[asyncio.Task[None]] = {*fetchers, batch}
        while tasks:
            watched = tasks | {t for t in writes.tasks if not t.done()}
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            tasks -= done
    finally:
        for task in [*fetchers, batch]:
            task.cancel()
        await asyncio.gather(*fetchers, batch, return_exceptions=True)
