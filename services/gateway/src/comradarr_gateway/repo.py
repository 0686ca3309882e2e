"""SQL of the gateway's own tables. Every function is keyword-only; values are parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from comradarr_db import Connection


@dataclass(frozen=True, slots=True)
class User:
    """The administrator."""

    id: int
    username: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class Session:
    """A live session row."""

    id: int
    user_id: int
    username: str
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's metadata (never the token)."""

    id: int
    description: str
    scope: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    rate_per_minute: int | None = None


# --- users -------------------------------------------------------------------------------


async def user_exists(conn: Connection) -> bool:
    """Whether setup has been completed."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"))


async def create_first_user(conn: Connection, *, username: str, password_hash: str) -> int | None:
    """Insert the administrator; None when one already exists (the singleton wins once)."""
    value = await conn.fetchval(
        """
        INSERT INTO users (username, password_hash) VALUES ($1, $2)
        ON CONFLICT (singleton) DO NOTHING
        RETURNING id
        """,
        username,
        password_hash,
    )
    return None if value is None else int(value)


async def get_user_by_name(conn: Connection, *, username: str) -> User | None:
    """The administrator when the name matches (case-insensitive)."""
    row = await conn.fetchrow(
        "SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)",
        username,
    )
    return None if row is None else User(row["id"], row["username"], row["password_hash"])


async def get_user(conn: Connection, *, user_id: int) -> User | None:
    """The user by id."""
    row = await conn.fetchrow(
        "SELECT id, username, password_hash FROM users WHERE id = $1", user_id
    )
    return None if row is None else User(row["id"], row["username"], row["password_hash"])


async def first_user(conn: Connection) -> User | None:
    """The administrator, if setup is done."""
    row = await conn.fetchrow("SELECT id, username, password_hash FROM users ORDER BY id LIMIT 1")
    return None if row is None else User(row["id"], row["username"], row["password_hash"])


async def set_password_hash(conn: Connection, *, user_id: int, password_hash: str) -> None:
    """Store a new password hash."""
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


# --- sessions ----------------------------------------------------------------------------


async def create_session(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
    client_ip: str,
    user_agent: str,
) -> int:
    """Insert a session; returns its id."""
    value = await conn.fetchval(
        """
        INSERT INTO sessions
            (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,
             client_ip, user_agent)
        VALUES ($1, $2, $3, $4, $4, $5, $6, $7)
        RETURNING id
        """,
        token_hash,
        user_id,
        csrf_token,
        now,
        expires_at,
        client_ip,
        user_agent[:256],
    )
    return int(value)


async def get_live_session(
    conn: Connection, *, token_hash: bytes, now: datetime, idle: timedelta
) -> Session | None:
    """The session for a token hash, unless it is past its idle or absolute expiry."""
    row = await conn.fetchrow(
        """
        SELECT s.id, s.user_id, u.username, s.csrf_token, s.last_seen_at, s.expires_at
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at + $3 > $2
        """,
        token_hash,
        now,
        idle,
    )
    if row is None:
        return None
    return Session(
        row["id"],
        row["user_id"],
        row["username"],
        row["csrf_token"],
        row["last_seen_at"],
        row["expires_at"],
    )


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A live session as the account page lists it (never its token)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str
    user_agent: str


async def list_sessions(
    conn: Connection, *, user_id: int, now: datetime, idle: timedelta
) -> list[SessionRow]:
    """A user's live sessions, most recently used first."""
    rows = await conn.fetch(
        """
        SELECT id, created_at, last_seen_at, expires_at, client_ip, user_agent FROM sessions
        WHERE user_id = $1 AND expires_at > $2 AND last_seen_at + $3 > $2
        ORDER BY last_seen_at DESC, id DESC
        """,
        user_id,
        now,
        idle,
    )
    return [SessionRow(**dict(r)) for r in rows]


async def delete_user_session(conn: Connection, *, user_id: int, session_id: int) -> bool:
    """End one of a user's sessions; False when the user has none with that id."""
    status = await conn.execute(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return status != "DELETE 0"


async def touch_session(conn: Connection, *, session_id: int, now: datetime) -> None:
    """Record activity (idle expiry counts from here)."""
    await conn.execute("UPDATE sessions SET last_seen_at = $2 WHERE id = $1", session_id, now)


async def delete_session(conn: Connection, *, session_id: int) -> None:
    """End one session."""
    await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)


async def delete_other_sessions(conn: Connection, *, user_id: int, keep_id: int | None) -> int:
    """End every session of a user except keep_id; returns how many ended."""
    status = await conn.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2", user_id, keep_id
    )
    return int(status.split()[-1])


async def purge_expired_sessions(conn: Connection, *, now: datetime) -> None:
    """Drop sessions past their absolute expiry."""
    await conn.execute("DELETE FROM sessions WHERE expires_at <= $1", now)


# --- login throttling --------------------------------------------------------------------
# Three counters: per (username, address) pair and per address, each locking after its
# threshold; per username across addresses, only delaying attempts from addresses that
# already failed (so a correct password from a clean address always gets in).


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """The counters a login attempt is judged by (failures inside the window only)."""

    pair_failures: int = 0
    pair_locked_until: datetime | None = None
    ip_failures: int = 0
    ip_locked_until: datetime | None = None
    user_failures: int = 0
    user_last_failed_at: datetime | None = None


def pair_subject(username: str, ip: str) -> str:
    """The subject of a (username, address) counter (usernames hold no spaces)."""
    return f"{ip} {username}"


async def login_failures(
    conn: Connection, *, username: str, ip: str, now: datetime, window: timedelta
) -> LoginFailures:
    """The live counters of a username, an address and the pair of them."""
    rows = await conn.fetch(
        """
        SELECT kind, failures, locked_until, last_failed_at FROM login_failures
        WHERE ((kind = 'user' AND subject = $1) OR (kind = 'ip' AND subject = $2)
               OR (kind = 'pair' AND subject = $3))
          AND (coalesce(last_failed_at, first_failed_at) + $5 >= $4 OR locked_until > $4)
        """,
        username,
        ip,
        pair_subject(username, ip),
        now,
        window,
    )
    found: dict[str, Any] = {}
    for row in rows:
        kind = row["kind"]
        found[f"{kind}_failures"] = int(row["failures"])
        if kind == "user":
            found["user_last_failed_at"] = row["last_failed_at"]
        else:
            found[f"{kind}_locked_until"] = row["locked_until"]
    return LoginFailures(**found)


async def record_failure(
    conn: Connection,
    *,
    kind: str,
    subject: str,
    now: datetime,
    window: timedelta,
    threshold: int | None,
    lockout: timedelta,
) -> tuple[int, float]:
    """Count one failed login: (failures in the window, seconds of the lock it set or 0).

    The count starts again after a window without failures (or once a lock has run out);
    threshold None counts without ever locking (the per-username counter).
    """
    row = await conn.fetchrow(
        """
        INSERT INTO login_failures AS f
            (kind, subject, failures, first_failed_at, last_failed_at)
        VALUES ($1, $2, 1, $3, $3)
        ON CONFLICT (kind, subject) DO UPDATE SET
            failures = CASE
                WHEN coalesce(f.last_failed_at, f.first_failed_at) + $4 < $3
                     OR f.locked_until <= $3 THEN 1
                ELSE f.failures + 1 END,
            first_failed_at = CASE
                WHEN coalesce(f.last_failed_at, f.first_failed_at) + $4 < $3
                     OR f.locked_until <= $3 THEN $3
                ELSE f.first_failed_at END,
            last_failed_at = $3,
            locked_until = CASE WHEN f.locked_until <= $3 THEN NULL ELSE f.locked_until END
        RETURNING failures
        """,
        kind,
        subject,
        now,
        window,
    )
    assert row is not None
    failures = int(row["failures"])
    if threshold is not None and failures >= threshold:
        await conn.execute(
            "UPDATE login_failures SET locked_until = $3 WHERE kind = $1 AND subject = $2",
            kind,
            subject,
            now + lockout,
        )
        return failures, lockout.total_seconds()
    return failures, 0.0


async def clear_failures(conn: Connection, *, username: str, ip: str) -> None:
    """Forget a username's, an address's and their pair's failures (a successful login)."""
    await conn.execute(
        """
        DELETE FROM login_failures
        WHERE (kind = 'user' AND subject = $1) OR (kind = 'ip' AND subject = $2)
           OR (kind = 'pair' AND subject = $3)
        """,
        username,
        ip,
        pair_subject(username, ip),
    )


async def prune_failures(conn: Connection, *, now: datetime, window: timedelta) -> None:
    """Drop counters whose window and lock are both over."""
    await conn.execute(
        """
        DELETE FROM login_failures
        WHERE coalesce(last_failed_at, first_failed_at) + $2 < $1
          AND (locked_until IS NULL OR locked_until <= $1)
        """,
        now,
        window,
    )


async def unlock_logins(conn: Connection) -> int:
    """Forget every failed-login counter and lock; returns how many there were."""
    status = await conn.execute("DELETE FROM login_failures")
    return int(status.split()[-1])


# --- API keys ----------------------------------------------------------------------------

_KEY_COLUMNS = "id, description, scope, prefix, created_at, last_used_at, rate_per_minute"


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row["id"],
        row["description"],
        row["scope"],
        row["prefix"],
        row["created_at"],
        row["last_used_at"],
        row["rate_per_minute"],
    )


async def create_api_key(
    conn: Connection,
    *,
    description: str,
    scope: str,
    token_hash: bytes,
    prefix: str,
    rate_per_minute: int | None = None,
) -> ApiKey:
    """Store a new key's hash and metadata."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO api_keys (description, scope, token_hash, prefix, rate_per_minute)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING {_KEY_COLUMNS}
        """,  # noqa: S608 - constant column list
        description,
        scope,
        token_hash,
        prefix,
        rate_per_minute,
    )
    return _key(row)


async def update_api_key(
    conn: Connection, *, key_id: int, changes: dict[str, Any]
) -> ApiKey | None:
    """Change a key's description and/or rate limit (None: the default); None if no key."""
    row = await conn.fetchrow(
        f"""
        UPDATE api_keys SET
            description = CASE WHEN $2 THEN $3 ELSE description END,
            rate_per_minute = CASE WHEN $4 THEN $5 ELSE rate_per_minute END
        WHERE id = $1
        RETURNING {_KEY_COLUMNS}
        """,  # noqa: S608 - constant column list
        key_id,
        "description" in changes,
        changes.get("description"),
        "rate_per_minute" in changes,
        changes.get("rate_per_minute"),
    )
    return None if row is None else _key(row)


async def list_api_keys(conn: Connection) -> list[ApiKey]:
    """Every key's metadata, newest first."""
    rows = await conn.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY id DESC")  # noqa: S608
    return [_key(r) for r in rows]


async def find_api_key(conn: Connection, *, token_hash: bytes) -> tuple[ApiKey, bytes] | None:
    """The key whose stored hash equals token_hash, with the stored hash to compare."""
    row = await conn.fetchrow(
        f"SELECT {_KEY_COLUMNS}, token_hash FROM api_keys WHERE token_hash = $1",  # noqa: S608
        token_hash,
    )
    return None if row is None else (_key(row), bytes(row["token_hash"]))


async def delete_api_key(conn: Connection, *, key_id: int) -> bool:
    """Revoke a key; False when none has that id."""
    status = await conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)
    return status != "DELETE 0"


async def key_uses_since(conn: Connection, *, key_id: int, since: datetime) -> tuple[int, Any]:
    """How often a key was used since a time, and the oldest such use."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, min(used_at) AS oldest FROM api_key_usage"
        " WHERE api_key_id = $1 AND used_at > $2",
        key_id,
        since,
    )
    assert row is not None
    return int(row["n"]), row["oldest"]


async def record_key_use(
    conn: Connection, *, key_id: int, method: str, endpoint: str, now: datetime
) -> User | None:
    """Log one use of a key (usage row and last_used_at, atomically: one statement) and
    return the administrator the key acts for, all in one round trip."""
    row = await conn.fetchrow(
        """
        WITH used AS (
            INSERT INTO api_key_usage (api_key_id, method, endpoint, used_at)
            VALUES ($1, $2, $3, $4)
        ), touched AS (
            UPDATE api_keys SET last_used_at = $4 WHERE id = $1
        )
        SELECT id, username, password_hash FROM users ORDER BY id LIMIT 1
        """,
        key_id,
        method,
        endpoint[:512],
        now,
    )
    return None if row is None else User(row["id"], row["username"], row["password_hash"])


# --- settings ----------------------------------------------------------------------------


async def load_settings_rows(conn: Connection) -> dict[str, Any]:
    """Stored setting values by dotted key."""
    rows = await conn.fetch("SELECT key, value FROM settings")
    return {r["key"]: r["value"] for r in rows}


async def save_settings(conn: Connection, *, values: dict[str, Any]) -> None:
    """Upsert setting values in one transaction."""
    async with conn.transaction():
        for key, value in values.items():
            await conn.execute(
                """
                INSERT INTO settings (key, value) VALUES ($1, $2)
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
                """,
                key,
                value,
            )


# --- tables other services own (read only when they exist) ------------------------------


async def table_exists(conn: Connection, *, name: str) -> bool:
    """Whether a table of that name exists in the search path."""
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name))


async def tables_with_connector_id(conn: Connection, *, names: list[str]) -> list[str]:
    """Which of the named tables exist and have a connector_id column."""
    rows = await conn.fetch(
        """
        SELECT table_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_name = 'connector_id'
          AND table_name = ANY($1::text[])
        ORDER BY table_name
        """,
        names,
    )
    return [r["table_name"] for r in rows]
