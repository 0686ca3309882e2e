-- Each API key may have its own request limit per minute; NULL keeps the server default
-- (COMRADARR_API_KEY_RATE_PER_MINUTE).
ALTER TABLE api_keys
    ADD COLUMN rate_per_minute integer CHECK (rate_per_minute BETWEEN 1 AND 100000);
