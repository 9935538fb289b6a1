-- Sensors and verified contributions really count: a fully documented, instrumented, active
-- building with verified contributions reaches 1A (and does not without them).
\set VERBOSITY terse
SELECT arxos.create_building('top', 'Top marks') IS NOT NULL AS created;
-- 60 sensing objects, all located, documented and with properties, written by 30 people
DO $$
BEGIN
    FOR i IN 1..30 LOOP
        PERFORM set_config('arxos.actor', 'tech_' || i, true);
        PERFORM arxos.put('top', '/s' || i || 'a', 'sensor', '{"measures": "temperature"}',
                          location => jsonb_build_object('x', i, 'y', 0));
        PERFORM arxos.put('top', '/s' || i || 'b', 'meter', '{"measures": "power"}',
                          location => jsonb_build_object('x', i, 'y', 1));
    END LOOP;
END
$$;
-- the first object was installed more than two years ago
UPDATE arxos.buildings SET first_object_at = now() - interval '800 days' WHERE key = 'top';
SELECT objects, located, documented, with_properties, instrumented, floor(age_days) AS age_days,
       changes_30d, actors_30d, verified_30d
  FROM arxos.rating_inputs(arxos.building_id('top'));
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity FROM arxos.rating('top');
-- 60 contributions, each verified
UPDATE arxos.market_settings SET rate_limit = NULL;
SET arxos.actor = 'alice';
SELECT arxos.register_contributor('alice_1a', 'Alice') AS alice \gset
SET arxos.actor = 'vera';
SELECT arxos.register_contributor('vera_1a', 'Vera') AS vera \gset
SET arxos.actor = 'alice';
CREATE TEMP TABLE made AS
SELECT (arxos.contribute('top', :'alice', 'object_documentation', encode(sha256(convert_to('doc ' || i, 'UTF8')), 'hex'),
                         jsonb_build_object('notes', 'checked ' || i), path => '/s' || i || 'a')).contribution_id AS id
  FROM generate_series(1, 30) i
UNION ALL
SELECT (arxos.contribute('top', :'alice', 'object_documentation', encode(sha256(convert_to('doc b ' || i, 'UTF8')), 'hex'),
                         jsonb_build_object('notes', 'checked ' || i), path => '/s' || i || 'b')).contribution_id
  FROM generate_series(1, 30) i;
SET arxos.actor = 'vera';
SELECT count(*) AS verified FROM made, LATERAL arxos.verify_contribution(made.id, :'vera', 'auto_verified') v;
RESET arxos.actor;
UPDATE arxos.market_settings SET rate_limit = 60;
SELECT verified_30d FROM arxos.rating_inputs(arxos.building_id('top'));
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity FROM arxos.rating('top');
SELECT (SELECT row(grade, score)::text FROM arxos.rating('top')) = (SELECT row(grade, score)::text FROM arxos.recompute_rating('top')) AS equals_oracle;
SELECT reason, new_grade FROM arxos.rating_history('top', max => 1);
-- (a building with a token ledger cannot be deleted: it stays)
