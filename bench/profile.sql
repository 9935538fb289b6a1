-- The statements that took the time in a profiled pgbench run (pg_stat_statements, track = all).
-- Nested statements (inside functions and triggers) are listed with toplevel = f; a statement's
-- time includes the time of the statements it ran, so the column does not add up.
-- Then the extension's functions (track_functions = all): self time excludes the functions
-- they called but includes their own statements.
\pset footer off
SELECT round((s.total_exec_time / :xacts)::numeric, 4) AS ms_per_xact,
       round(s.calls::numeric / :xacts, 2) AS calls_per_xact,
       s.toplevel,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) AS query
  FROM pg_stat_statements s
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND s.query !~* 'pg_stat_statements_reset'
 ORDER BY s.total_exec_time DESC
 LIMIT 16;

SELECT f.funcname AS function, round(f.calls::numeric / :xacts, 2) AS calls_per_xact,
       round((f.self_time / :xacts)::numeric, 4) AS self_ms_per_xact,
       round((f.total_time / :xacts)::numeric, 4) AS total_ms_per_xact
  FROM pg_stat_user_functions f
 WHERE f.schemaname = 'arxos'
 ORDER BY f.self_time DESC
 LIMIT 16;
