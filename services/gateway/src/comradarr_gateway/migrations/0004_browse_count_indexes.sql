-- The "upgrade" filter of episodes (has a file below the quality cutoff) had no index: its
-- capped count (up to 10,001 rows) and page scanned the whole episodes table (~60 ms on
-- 200,000 episodes). A small partial index covers exactly the matching rows.
CREATE INDEX IF NOT EXISTS gw_episodes_upgrade ON episodes (id)
    WHERE has_file AND quality_cutoff_not_met;
