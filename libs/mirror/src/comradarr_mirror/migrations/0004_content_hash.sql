-- A digest of the values the sync last wrote for a series (with its seasons) or a movie.
-- The sync compares it with the digest of what the app sends now and stages only rows
-- whose digest differs, so a re-read of an unchanged library writes nothing. It is only a
-- filter: the merge still compares the values themselves, and a NULL (rows written before
-- this column existed) just means "compare".
ALTER TABLE series ADD COLUMN content_hash bigint;
ALTER TABLE movies ADD COLUMN content_hash bigint;
