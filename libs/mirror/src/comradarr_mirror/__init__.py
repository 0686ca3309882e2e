"""Content mirror and search registry: schema (migrations, component "mirror") and readers.

Tables (see migrations/):

- ``series``, ``seasons``, ``episodes``, ``movies``: each *arr library as last synced,
  unique by (connector_id, arr_id), cascading from ``connectors``; written by sync only.
  ``series.content_hash`` / ``movies.content_hash`` hold a digest of the values last
  written (series with their seasons), which lets the sync skip unchanged rows unstaged.
- ``quality_profiles``: each connector's quality profiles (cutoff, upgrade allowed, the
  custom-format cutoff score); episodes and movies keep their file's
  ``custom_format_score``. Written by sync only.
- ``qualities``: each distinct quality model (``model`` jsonb, unique) once; episodes and
  movies with a file point at theirs by ``quality_id``. Rows are never deleted or changed.
- ``search_registry``: one entry per wanting item (``content_type`` episode|movie with
  ``episode_id``/``movie_id``), ``search_type`` gap|upgrade|format (format: quality meets
  the cutoff, the custom-format score does not), a ``priority`` with its
  ``priority_parts`` and an optional ``user_priority``; discovery creates and deletes
  entries, the dispatcher moves their state.
- ``search_history``: one row per search of an entry (command id, outcome, timestamps).

Registry states:

- ``pending``: eligible once ``next_eligible_at`` has passed.
- ``queued``: picked for a batch; the command is not sent yet.
- ``searching``: the command was sent; it is polled to its end.
- ``cooldown``: searched without result; eligible again at ``next_eligible_at``.
- ``exhausted``: reached the maximum attempts; left alone until a user resets it.

Deleting a content row deletes its registry entry and history (foreign keys);
``cleanup_orphans`` removes anything left without content all the same.
"""

from .priority import set_user_priority_sql, user_part_sql
from .registry import (
    CONTENT_TYPES,
    SEARCH_TYPES,
    STATES,
    RegistryEntry,
    cleanup_orphans,
    count_by_state,
    get_entry,
    list_entries,
    set_user_priority,
)
from .search_settings import (
    USER_WEIGHT_SQL,
    PriorityWeights,
    SearchSettings,
    load_search_settings,
)

__all__ = [
    "CONTENT_TYPES",
    "SEARCH_TYPES",
    "STATES",
    "USER_WEIGHT_SQL",
    "PriorityWeights",
    "RegistryEntry",
    "SearchSettings",
    "cleanup_orphans",
    "count_by_state",
    "get_entry",
    "list_entries",
    "load_search_settings",
    "set_user_priority",
    "set_user_priority_sql",
    "user_part_sql",
]
