-- Per connector: whether files below their profile's custom-format cutoff score (quality
-- cutoff met) are searched for upgrades. On by default: a profile's cutoff score is 0 until
-- the user scores custom formats, so nothing changes for those who do not.
ALTER TABLE connectors ADD COLUMN format_upgrades boolean NOT NULL DEFAULT true;
