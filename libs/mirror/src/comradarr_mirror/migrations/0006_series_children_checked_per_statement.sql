-- episodes -> series and seasons -> series, checked once per statement, not once per row.
--
-- The two foreign keys ran a lookup and a row lock on series for every row written: a
-- quarter of the cost of a 5,000-episode sync batch, and most of a series batch (its
-- seasons). These triggers keep the foreign keys' three guarantees with set-based
-- statements over the transition tables:
--
-- * an episode or season is written only for a series that exists (the referenced series
--   are locked FOR KEY SHARE, as a foreign key does, so a concurrent delete of one waits
--   for the writer's commit and then removes the new rows too);
-- * deleting series deletes their seasons and episodes (ON DELETE CASCADE; the search
--   registry entries of those episodes follow by their own foreign key);
-- * a series' key cannot change while seasons or episodes point at it (ON UPDATE NO
--   ACTION).
ALTER TABLE episodes DROP CONSTRAINT episodes_connector_id_series_arr_id_fkey;
ALTER TABLE seasons DROP CONSTRAINT seasons_connector_id_series_arr_id_fkey;

-- Rows of episodes or seasons written by one statement (transition table written_rows):
-- lock their series and count them; only when some are missing, find one to report.
CREATE FUNCTION mirror_rows_have_series() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found_series bigint;
    missing record;
BEGIN
    SELECT count(*) INTO wanted
    FROM (SELECT DISTINCT w.connector_id, w.series_arr_id FROM written_rows w) k;
    SELECT count(*) INTO found_series FROM (
        SELECT 1 FROM series s
        JOIN (SELECT DISTINCT w.connector_id, w.series_arr_id FROM written_rows w) k
          ON s.connector_id = k.connector_id AND s.arr_id = k.series_arr_id
        FOR KEY SHARE OF s) l;
    IF found_series < wanted THEN
        SELECT w.connector_id, w.series_arr_id INTO missing FROM written_rows w
        WHERE NOT EXISTS (SELECT 1 FROM series s
                          WHERE s.connector_id = w.connector_id
                            AND s.arr_id = w.series_arr_id)
        LIMIT 1;
        RAISE EXCEPTION 'insert or update on table "%" violates its reference to "series"',
                TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (connector_id, series_arr_id)=(%s, %s) is not present'
                                  ' in table "series".', missing.connector_id,
                                  missing.series_arr_id),
                  TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;

-- episodes_have_series_insert, episodes_have_series_update, seasons_have_series_insert,
-- seasons_have_series_update (a trigger with a transition table has one event).
DO $$
DECLARE
    tbl text;
    ev text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['episodes', 'seasons'] LOOP
        FOREACH ev IN ARRAY ARRAY['insert', 'update'] LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I'
                           ' REFERENCING NEW TABLE AS written_rows FOR EACH STATEMENT'
                           ' EXECUTE FUNCTION mirror_rows_have_series()',
                           tbl || '_have_series_' || ev, ev, tbl);
        END LOOP;
    END LOOP;
END
$$;

CREATE FUNCTION mirror_series_delete_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM seasons c USING deleted_series d
    WHERE c.connector_id = d.connector_id AND c.series_arr_id = d.arr_id;
    DELETE FROM episodes c USING deleted_series d
    WHERE c.connector_id = d.connector_id AND c.series_arr_id = d.arr_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER series_delete_children AFTER DELETE ON series
    REFERENCING OLD TABLE AS deleted_series
    FOR EACH STATEMENT EXECUTE FUNCTION mirror_series_delete_children();

CREATE FUNCTION mirror_series_key_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.connector_id, NEW.arr_id) IS DISTINCT FROM (OLD.connector_id, OLD.arr_id)
       AND (EXISTS (SELECT 1 FROM episodes c WHERE c.connector_id = OLD.connector_id
                    AND c.series_arr_id = OLD.arr_id)
            OR EXISTS (SELECT 1 FROM seasons c WHERE c.connector_id = OLD.connector_id
                       AND c.series_arr_id = OLD.arr_id)) THEN
        RAISE EXCEPTION 'update on table "series" would leave seasons or episodes without it'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'series';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER series_key_kept BEFORE UPDATE OF connector_id, arr_id ON series
    FOR EACH ROW EXECUTE FUNCTION mirror_series_key_kept();
