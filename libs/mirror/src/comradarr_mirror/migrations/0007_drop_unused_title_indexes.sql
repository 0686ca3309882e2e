-- Title order and title search read the stored lower-case title (title_key, with its own
-- btree and trigram indexes, gateway migration 0005). The indexes on lower(title) served
-- only an unused reader and cost every series and movie write four index entries (two of
-- them trigram GIN entries, a dozen keys per title): a full sync of 20,000 movies spent
-- more PostgreSQL time on them than on the rows.
DROP INDEX IF EXISTS series_title_prefix;
DROP INDEX IF EXISTS movies_title_prefix;
DROP INDEX IF EXISTS series_title_trgm;
DROP INDEX IF EXISTS movies_title_trgm;
