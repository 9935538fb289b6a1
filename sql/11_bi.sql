-- ArxOS schema, part 11: materialized views for BI tools (see docs/bi.md). Each has the unique
-- index REFRESH ... CONCURRENTLY needs; arxos.refresh_views() refreshes them all, and the
-- read-only role arxos_reader may read them and nothing else.

CREATE MATERIALIZED VIEW arxos.bi_leaderboard AS
    SELECT r.building_id, r.building, r.name, r.grade, arxos.grade_ordinal(r.grade) AS grade_ordinal,
           r.score, r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity,
           rank() OVER (ORDER BY r.score DESC) AS rank, now() AS refreshed_at
      FROM arxos.ratings r;
CREATE UNIQUE INDEX bi_leaderboard_building ON arxos.bi_leaderboard (building_id);

CREATE MATERIALIZED VIEW arxos.bi_grade_distribution AS
    SELECT g.grade, g.ordinal, count(r.building_id) AS buildings
      FROM (SELECT arxos.grade(s) AS grade, arxos.grade_ordinal(arxos.grade(s)) AS ordinal
              FROM unnest(ARRAY[0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 72.5, 75,
                                77.5, 80, 82.5, 85, 87.5, 90, 92.5, 95, 97.5]::float8[]) AS s) g
      LEFT JOIN arxos.ratings r ON r.grade = g.grade
     GROUP BY g.grade, g.ordinal;
CREATE UNIQUE INDEX bi_grade_distribution_grade ON arxos.bi_grade_distribution (grade);

-- Every building. The window's points are the score in force when it opened (the last rating
-- history row before it) and every row inside it; changes counts the rows inside. A building
-- never rated has no points (null scores, 0 changes).
CREATE MATERIALIZED VIEW arxos.bi_rating_trend_30d AS
    SELECT b.id AS building_id, b.key AS building,
           (array_agg(p.score ORDER BY p.id))[1] AS first_score,
           (array_agg(p.score ORDER BY p.id DESC))[1] AS last_score,
           min(p.score) AS min_score, max(p.score) AS max_score,
           round(avg(p.score), 3) AS avg_score, count(p.id) FILTER (WHERE p.inside) AS changes
      FROM arxos.buildings b
      LEFT JOIN LATERAL (
          (SELECT h.id, h.new_score AS score, false AS inside FROM arxos.rating_history h
            WHERE h.building_id = b.id AND h.at < now() - interval '30 days'
            ORDER BY h.id DESC LIMIT 1)
          UNION ALL
          SELECT h.id, h.new_score, true FROM arxos.rating_history h
           WHERE h.building_id = b.id AND h.at >= now() - interval '30 days') p ON true
     GROUP BY b.id, b.key;
CREATE UNIQUE INDEX bi_rating_trend_30d_building ON arxos.bi_rating_trend_30d (building_id);

CREATE MATERIALIZED VIEW arxos.bi_objects_by_type_status AS
    SELECT o.building_id, b.key AS building, o.type, o.status, count(*) AS objects,
           count(*) FILTER (WHERE o.needs_repair) AS needs_repair
      FROM arxos.objects o JOIN arxos.buildings b ON b.id = o.building_id
     GROUP BY o.building_id, b.key, o.type, o.status;
CREATE UNIQUE INDEX bi_objects_by_type_status_key ON arxos.bi_objects_by_type_status (building_id, type, status);

-- Refreshes every BI view without blocking readers, after recording the rating moves of the
-- writes committed so far (the trend reads the rating history). Returns the number refreshed.
CREATE FUNCTION arxos.refresh_views() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM arxos.sequence_events(wait_ms => 250);
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_leaderboard;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_grade_distribution;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_rating_trend_30d;
    REFRESH MATERIALIZED VIEW CONCURRENTLY arxos.bi_objects_by_type_status;
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
GRANT USAGE ON SCHEMA arxos TO arxos_reader;
GRANT SELECT ON arxos.bi_leaderboard, arxos.bi_grade_distribution, arxos.bi_rating_trend_30d,
                arxos.bi_objects_by_type_status TO arxos_reader;
