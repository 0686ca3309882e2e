-- The queue page lists entries that wait (cooling down, or not due yet) by when they become
-- eligible, after the eligible ones: this index reads that segment in its order, a page at
-- a time, instead of sorting every waiting entry on each poll.
CREATE INDEX IF NOT EXISTS gw_registry_waiting
    ON search_registry (next_eligible_at, priority DESC, id)
    WHERE state IN ('pending', 'cooldown');
