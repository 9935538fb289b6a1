-- ArxOS schema, part 11: what BI tools read (see docs/bi.md). Materialized views in schema
-- arxos, each with the unique index REFRESH ... CONCURRENTLY needs (arxos.refresh_views()
-- refreshes them all), and schema arxos_bi: plain views over them and over the few live tables
-- an analyst needs, which the read-only role arxos_reader may read, and nothing else. (Tools
-- list tables from information_schema, which has no materialized views: the plain views are
-- what they find.)

CREATE MATERIALIZED VIEW arxos.bi_leaderboard AS
    SELECT r.building_id, r.building, r.name, r.grade, arxos.grade_ordinal(r.grade) AS grade_ordinal,
           r.score, r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity,
           rank() OVER (ORDER BY r.score DESC) AS rank
      FROM arxos.ratings r;
CREATE UNIQUE INDEX bi_leaderboard_building ON arxos.bi_leaderboard (building_id);

-- Counted from the leaderboard (refreshed first): the two agree, where computing the ratings
-- again could see writes committed in between.
CREATE MATERIALIZED VIEW arxos.bi_grade_distribution AS
    SELECT g.grade, g.ordinal, count(r.building_id) AS buildings
      FROM (SELECT arxos.grade(s) AS grade, arxos.grade_ordinal(arxos.grade(s)) AS ordinal
              FROM unnest(ARRAY[0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 72.5, 75,
                                77.5, 80, 82.5, 85, 87.5, 90, 92.5, 95, 97.5]::float8[]) AS s) g
      LEFT JOIN arxos.bi_leaderboard r ON r.grade = g.grade
     GROUP BY g.grade, g.ordinal;
CREATE UNIQUE INDEX bi_grade_distribution_grade ON arxos.bi_grade_distribution (grade);

-- The time a refresh reads as of: set by refresh_views() once it has waited for any other
-- refresh (the summaries' snapshots are all taken after it); a REFRESH of its own uses its
-- transaction's start.
CREATE FUNCTION arxos.bi_refresh_time() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('arxos.bi_refresh_at', true), '')::timestamptz, now())
$$;

-- Every building. The window (the last 720 hours: 30 days whatever the session's time zone)
-- has as points the score in force when it opened (the last rating history row, by id, dated
-- before it) and every row after that one, by id; changes counts the rows after it. A row's
-- `at` is its transaction's start, so a row of a transaction that began before the window and
-- committed after a row dated inside it has the higher id: the history's order (id) decides,
-- and a row dated inside the window but older than the opening row is before the window
-- (found by an audit: the opening row was counted after it, and first_score was a later score).
-- A building never rated has no points (null scores, 0 changes).
CREATE MATERIALIZED VIEW arxos.bi_rating_trend_30d AS
    SELECT b.id AS building_id, b.key AS building,
           ((array_agg(p.score ORDER BY p.id))[1])::numeric(6, 3) AS first_score,
           ((array_agg(p.score ORDER BY p.id DESC))[1])::numeric(6, 3) AS last_score,
           min(p.score)::numeric(6, 3) AS min_score, max(p.score)::numeric(6, 3) AS max_score,
           round(avg(p.score), 3)::numeric(6, 3) AS avg_score, count(p.id) FILTER (WHERE p.inside) AS changes
      FROM arxos.buildings b
      LEFT JOIN LATERAL (
          WITH opening AS MATERIALIZED (
              SELECT h.id, h.new_score FROM arxos.rating_history h
               WHERE h.building_id = b.id AND h.at < arxos.bi_refresh_time() - interval '720 hours'
               ORDER BY h.id DESC LIMIT 1)
          SELECT o.id, o.new_score AS score, false AS inside FROM opening o
          UNION ALL
          SELECT h.id, h.new_score, true FROM arxos.rating_history h
           WHERE h.building_id = b.id AND h.id > coalesce((SELECT o.id FROM opening o), 0)) p ON true
     GROUP BY b.id, b.key;
CREATE UNIQUE INDEX bi_rating_trend_30d_building ON arxos.bi_rating_trend_30d (building_id);

CREATE MATERIALIZED VIEW arxos.bi_objects_by_type_status AS
    SELECT o.building_id, b.key AS building, o.type, o.status, count(*) AS objects,
           count(*) FILTER (WHERE o.needs_repair) AS needs_repair
      FROM arxos.objects o JOIN arxos.buildings b ON b.id = o.building_id
     GROUP BY o.building_id, b.key, o.type, o.status;
CREATE UNIQUE INDEX bi_objects_by_type_status_key ON arxos.bi_objects_by_type_status (building_id, type, status);

-- When the summaries were refreshed (arxos.bi_refresh_time(): when refresh_views began reading,
-- after any wait for another refresh), one row, which the
-- arxos_bi views add to every row. Not a column of each summary: a time that changes every
-- row made each concurrent refresh delete and insert every row, changed or not.
CREATE MATERIALIZED VIEW arxos.bi_refreshed AS SELECT true AS only_row, arxos.bi_refresh_time() AS refreshed_at;
CREATE UNIQUE INDEX bi_refreshed_only_row ON arxos.bi_refreshed (only_row);

-- Refreshes every BI view without blocking readers, then records the rating moves of the
-- writes committed so far and numbers the events waiting (what the shim's listener does within
-- milliseconds; without a shim, what tick() does every minute). In that order: the sequencer's
-- lock, which sequencing takes for the rest of the transaction, is then held for the
-- sequencing alone, not for the refreshes (events reached streams and webhooks only after
-- them). The trend reads the rating history as the last sequencing left it. Returns the number
-- refreshed.
CREATE FUNCTION arxos.refresh_views() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Only the views' owner may refresh them: said first, as such (found by an audit: the API's
    -- role was told "permission denied for function serialize", setting up pg_cron under it).
    IF NOT pg_catalog.pg_has_role(current_user,
               (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'arxos.bi_leaderboard'::regclass), 'USAGE') THEN
        RAISE EXCEPTION 'refresh_views must run as the extension''s owner (%), who owns the materialized views it refreshes; % is not',
            (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
              WHERE c.oid = 'arxos.bi_leaderboard'::regclass), current_user
            USING ERRCODE = '42501', HINT = 'schedule it in pg_cron as that role (docs/bi.md)';
    END IF;
    -- Under REPEATABLE READ the views would read the transaction's snapshot, older than the
    -- time refreshed_at states (found by a review).
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'refresh_views runs under READ COMMITTED only'
            USING ERRCODE = '55000',
                  HINT = 'each view is read in a snapshot taken after the wait for another refresh: SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
    END IF;
    -- One refresh at a time (they would queue on the views' locks anyway), and taken before the
    -- first view is read: a refresh that waited for another then reads every view after the
    -- wait (the first REFRESH's snapshot was taken before it, and the leaderboard missed what
    -- the later views had; found by a review).
    -- A logical replica only locks the point's row, once it has it: a row it wrote itself
    -- would collide with the publisher's when the initial copy brings that one (e2e
    -- replication).
    IF arxos.is_replica() THEN
        PERFORM 1 FROM arxos.serial_locks s WHERE s.name = 'bi_refresh' FOR UPDATE;
    ELSE
        PERFORM arxos.serialize('bi_refresh');
    END IF;
    -- (ISO 8601 in UTC: read back the same whatever the session's DateStyle and TimeZone)
    PERFORM set_config('arxos.bi_refresh_at',
                       to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), true);
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_leaderboard;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_grade_distribution;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_rating_trend_30d;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_objects_by_type_status;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_refreshed;
    PERFORM arxos.sequence_events(wait_ms => 250);
    RETURN 4;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arxos_reader') THEN
        CREATE ROLE arxos_reader NOLOGIN;
    END IF;
END
$$;

-- What a BI login reads: plain views (they run with their owner's rights, so the reader needs
-- nothing in schema arxos). The four summaries, and the live rows behind the time series and
-- floor plans a dashboard draws: rating history, objects (without their free-form properties
-- and metrics) and readings (arxos_bi.readings, 13_readings.sql).
CREATE SCHEMA arxos_bi;
COMMENT ON SCHEMA arxos_bi IS 'What BI tools read (docs/bi.md): the materialized summaries and the live rating history, readings, objects and market.';
CREATE VIEW arxos_bi.leaderboard AS
    SELECT m.*, r.refreshed_at FROM arxos.bi_leaderboard m CROSS JOIN arxos.bi_refreshed r;
CREATE VIEW arxos_bi.grade_distribution AS
    SELECT m.*, r.refreshed_at FROM arxos.bi_grade_distribution m CROSS JOIN arxos.bi_refreshed r;
CREATE VIEW arxos_bi.rating_trend_30d AS
    SELECT m.*, r.refreshed_at FROM arxos.bi_rating_trend_30d m CROSS JOIN arxos.bi_refreshed r;
CREATE VIEW arxos_bi.objects_by_type_status AS
    SELECT m.*, r.refreshed_at FROM arxos.bi_objects_by_type_status m CROSS JOIN arxos.bi_refreshed r;
CREATE VIEW arxos_bi.rating_history AS
    SELECT h.id, h.building_id, b.key AS building, h.at, h.old_grade, h.new_grade, h.old_score,
           h.new_score, h.structure, h.inventory, h.metadata, h.sensors, h.history, h.quality,
           h.activity, h.reason
      FROM arxos.rating_history h JOIN arxos.buildings b ON b.id = h.building_id;
CREATE VIEW arxos_bi.objects AS
    SELECT o.id, o.building_id, b.key AS building, o.path::text AS path, o.parent_path::text AS parent_path,
           o.name::text AS name, o.depth, o.type, o.status, o.health, o.needs_repair, o.x, o.y, o.z,
           o.floor, o.instrumented, o.last_reading_at, o.created_at, o.updated_at
      FROM arxos.objects o JOIN arxos.buildings b ON b.id = o.building_id;
-- The market's live rows (docs/market.md), without free text (metadata, changes, memos) and
-- without actors (the owners' names): contributors (as forget_contributor leaves them),
-- contributions, holdings (a contributor's balance per building) and the ledger's entries.
CREATE VIEW arxos_bi.contributors AS
    SELECT c.id, c.handle, c.display_name, c.reputation, c.trust_level, c.contributions,
           c.verified_contributions, c.rejected_contributions, c.verifications_given,
           c.objects_documented, c.buildings_pioneered, c.joined_at, c.last_active_at,
           c.forgotten_at IS NOT NULL AS forgotten
      FROM arxos.contributors c;
CREATE VIEW arxos_bi.contributions AS
    SELECT n.id, n.building_id, b.key AS building, n.contributor_id, c.handle AS contributor,
           n.type, n.path::text AS path, n.object_id, n.status, n.quality, n.trust_level,
           n.old_grade, n.new_grade, n.old_score, n.new_score, n.reward, n.tokens_earned,
           n.created_at, n.verified_at, n.verified_by_same_owner, n.status_changed_at
      FROM arxos.contributions n
      JOIN arxos.buildings b ON b.id = n.building_id
      JOIN arxos.contributors c ON c.id = n.contributor_id;
CREATE VIEW arxos_bi.holdings AS
    SELECT a.building_id, b.key AS building, a.contributor_id, c.handle AS contributor,
           a.balance, a.earned
      FROM arxos.accounts a
      JOIN arxos.buildings b ON b.id = a.building_id
      JOIN arxos.contributors c ON c.id = a.contributor_id;
CREATE VIEW arxos_bi.ledger AS
    SELECT e.id AS entry_id, t.id AS transaction_id, t.kind, t.at, a.building_id, b.key AS building,
           t.contribution_id, a.contributor_id, c.handle AS contributor, e.amount
      FROM arxos.ledger_entries e
      JOIN arxos.ledger_transactions t ON t.id = e.transaction_id
      JOIN arxos.accounts a ON a.id = e.account_id
      JOIN arxos.buildings b ON b.id = a.building_id
      LEFT JOIN arxos.contributors c ON c.id = a.contributor_id;
-- What BI tools show as descriptions (Metabase and Superset import them; found by an audit:
-- none had one): each view's, and the columns a dashboard gets wrong without being told.
COMMENT ON VIEW arxos_bi.leaderboard IS 'One row per building: its BILT rating when the views were last refreshed (arxos.refresh_views), ranked by score (docs/bi.md).';
COMMENT ON COLUMN arxos_bi.leaderboard.grade IS 'BILT grade, 0z (worst) to 1A (best). Text order is not grade order: sort by grade_ordinal.';
COMMENT ON COLUMN arxos_bi.leaderboard.grade_ordinal IS 'The grade''s position, 0 (0z) to 25 (1A): sort and compare grades by it.';
COMMENT ON COLUMN arxos_bi.leaderboard.rank IS 'rank() by score, best first: tied buildings share a rank and the next rank is skipped (1, 2, 2, 4).';
COMMENT ON VIEW arxos_bi.grade_distribution IS 'One row per grade (all 26): how many buildings the leaderboard of the same refresh has at it.';
COMMENT ON COLUMN arxos_bi.grade_distribution.ordinal IS 'The grade''s position, 0 (0z) to 25 (1A): sort by it, not by the grade''s text.';
COMMENT ON VIEW arxos_bi.rating_trend_30d IS 'One row per building: its score over the last 720 hours, from the score in force when the window opened to the last recorded change (docs/bi.md, "Scores in the trend").';
COMMENT ON COLUMN arxos_bi.rating_trend_30d.avg_score IS 'Plain mean of the window''s points (the opening score and each change), not weighted by time.';
COMMENT ON COLUMN arxos_bi.rating_trend_30d.changes IS 'Rating history rows in the window (changes of score of at least 0.1, or of grade; a building created in the window counts its initial_rating row too).';
COMMENT ON VIEW arxos_bi.objects_by_type_status IS 'One row per building, object type and status: how many objects, and how many need repair.';
COMMENT ON VIEW arxos_bi.rating_history IS 'Live: one row per recorded rating change (docs/rating.md). Order a building''s rows by id, not by at.';
COMMENT ON COLUMN arxos_bi.rating_history.at IS 'When the change''s transaction started: overlapping transactions can have at out of id order; the row with the highest id holds the current score.';
COMMENT ON VIEW arxos_bi.objects IS 'Live: every object (without its free-form properties and metrics).';
COMMENT ON VIEW arxos_bi.contributors IS 'Live: every contributor; a forgotten one shows its pseudonym.';
COMMENT ON VIEW arxos_bi.contributions IS 'Live: every contribution, without its metadata and changes.';
COMMENT ON VIEW arxos_bi.holdings IS 'Live: each contributor''s tokens per building (balance, and earned: rewards net of claw-backs, without transfers).';
COMMENT ON VIEW arxos_bi.ledger IS 'Live: every ledger entry; a transaction''s entries sum to zero per building, and a NULL contributor is the building''s mint.';
GRANT USAGE ON SCHEMA arxos_bi TO arxos_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA arxos_bi TO arxos_reader;
