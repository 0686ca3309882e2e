-- Failed logins are counted per (username, address) pair too. A username's count across
-- addresses only delays attempts from addresses that failed before (it never locks the
-- owner out), so it keeps the time of its last failure; locks it set before stay no more.
ALTER TABLE login_failures DROP CONSTRAINT login_failures_kind_check;
ALTER TABLE login_failures
    ADD CONSTRAINT login_failures_kind_check CHECK (kind IN ('user', 'ip', 'pair'));
ALTER TABLE login_failures ADD COLUMN last_failed_at timestamptz;
UPDATE login_failures SET last_failed_at = first_failed_at;
UPDATE login_failures SET locked_until = NULL WHERE kind = 'user';
