-- The remaining documented sorts of series and movies (added, year) without a full sort:
-- each matches the browse query's ORDER BY expression exactly.
CREATE INDEX IF NOT EXISTS gw_series_added_order
    ON series ((coalesce(added, '1970-01-01 00:00:00+00'::timestamptz)), id);
CREATE INDEX IF NOT EXISTS gw_series_year_order ON series ((coalesce(year, 0)), id);
CREATE INDEX IF NOT EXISTS gw_movies_added_order
    ON movies ((coalesce(added, '1970-01-01 00:00:00+00'::timestamptz)), id);
CREATE INDEX IF NOT EXISTS gw_movies_year_order ON movies ((coalesce(year, 0)), id);
