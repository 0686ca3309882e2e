-- Settings → Search keeps only what a service reads (comradarr_mirror.search_settings):
-- cooldown, backoff and attempts are the throttle profile's, and the old weights
-- (gap/upgrade/age/recently_aired on a 0-100 scale) meant nothing to discovery.
DELETE FROM settings WHERE key IN (
    'search.cooldown_hours',
    'search.backoff_multiplier',
    'search.max_attempts',
    'search.priority_weights.gap',
    'search.priority_weights.upgrade',
    'search.priority_weights.age',
    'search.priority_weights.recently_aired'
);
