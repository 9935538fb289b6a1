-- The market: contributors, contributions and their validation, rewards, verification,
-- reputation, trust and badges, the ledger, transfers, market data and forgetting a
-- contributor (docs/market.md). Every number below is checked by hand in docs/market.md's
-- worked examples or in the comments.
\set VERBOSITY terse
-- A test data hash: the SHA-256 of a word.
CREATE FUNCTION pg_temp.h(word text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(word, 'UTF8')), 'hex')
$$;
-- How much is recorded, to show that a failed call wrote nothing.
-- (Sequencing first folds the rating deltas, so the rating events written are counted too.)
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
    SELECT arxos.sequence_events();
    SELECT format('contributions %s, ledger transactions %s, entries %s, objects %s, events %s',
                  (SELECT count(*) FROM arxos.contributions), (SELECT count(*) FROM arxos.ledger_transactions),
                  (SELECT count(*) FROM arxos.ledger_entries),
                  (SELECT count(*) FROM arxos.objects o JOIN arxos.buildings b ON b.id = o.building_id
                    WHERE b.key LIKE 'mkt%'),
                  (SELECT count(*) FROM (SELECT type, building_id FROM arxos.events_pending
                                         UNION ALL SELECT type, building_id FROM arxos.events) e
                    WHERE e.type = 'market.trade' OR e.building_id IN (SELECT id FROM arxos.buildings WHERE key LIKE 'mkt%')))
$$;

-------------------------------------------------------------------------------------------------
-- The maths, as SQL sees it
-------------------------------------------------------------------------------------------------
-- base × (1 + 2·0.5) × status multiplier, newcomer, no rating impact: base × 2 × 0.8/1.2/1.5/2/0
SELECT t.type, t.base_reward,
       arxos.contribution_reward(t.type, 0.5, 'pending', 'newcomer', 0, '0z') AS pending,
       arxos.contribution_reward(t.type, 0.5, 'auto_verified', 'newcomer', 0, '0z') AS auto,
       arxos.contribution_reward(t.type, 0.5, 'peer_verified', 'newcomer', 0, '0z') AS peer,
       arxos.contribution_reward(t.type, 0.5, 'expert_verified', 'newcomer', 0, '0z') AS expert,
       arxos.contribution_reward(t.type, 0.5, 'rejected', 'newcomer', 0, '0z') AS rejected
  FROM arxos.contribution_types() t ORDER BY t.base_reward DESC;
-- trust levels at their boundaries
SELECT r, arxos.trust_level(r) AS level, arxos.trust_multiplier(arxos.trust_level(r)) AS multiplier
  FROM unnest(ARRAY[0, 99.999999, 100, 299.999999, 300, 599.999999, 600, 899.999999, 900, 1000]::float8[]) r;
-- reputation points × quality
SELECT s, arxos.reputation_delta(s, 0.8) AS at_quality_08
  FROM unnest(ARRAY['pending', 'auto_verified', 'peer_verified', 'expert_verified', 'rejected']) s;
SELECT arxos.verifier_reward();
-- the remaining pure maths, one call each: base rewards and multipliers by name, the trust
-- order, the reputation bounds, the badges of a set of figures
SELECT arxos.contribution_base_reward('object_documentation') AS base,
       arxos.verification_multiplier('peer_verified') AS peer_multiplier,
       arxos.verification_counts('auto_verified') AS auto_counts, arxos.verification_counts('pending') AS pending_counts,
       arxos.trust_ordinal('newcomer') < arxos.trust_ordinal('expert') AS trust_ordered,
       arxos.clamp_reputation(-5) AS floor, arxos.clamp_reputation(5000) AS ceiling;
SELECT badge FROM arxos.badges_earned(contributions => 12, verified_contributions => 10,
                                      verifications_given => 0, objects_documented => 150,
                                      registration_rank => 7, pioneer => false) ORDER BY badge;
SELECT regress.try($$SELECT arxos.contribution_base_reward('bribery')$$);
SELECT regress.try($$SELECT arxos.trust_multiplier(repeat('m', 100000))$$);
-- market signals price tokens with the token maths
SELECT arxos.token_price(47.629, '0q') AS price, (SELECT price FROM arxos.token_figures(47.629, '0q')) AS figures;
SELECT * FROM arxos.contribution_rules ORDER BY type;
SELECT * FROM arxos.market_settings;

-------------------------------------------------------------------------------------------------
-- Contributors
-------------------------------------------------------------------------------------------------
SELECT arxos.register_contributor('alice', 'Alice Example') IS NOT NULL AS alice;
SELECT arxos.register_contributor('Bob', '  Bob Builder ') IS NOT NULL AS bob;   -- stored lowercased and trimmed
SELECT arxos.register_contributor('carol', 'Carol') IS NOT NULL AS carol;
SELECT arxos.register_contributor('erin', 'Erin Expert') IS NOT NULL AS erin;
SELECT handle, display_name, owner, reputation, trust_level, registration_rank FROM arxos.contributors ORDER BY registration_rank;
SELECT regress.try($$SELECT arxos.register_contributor('al', 'Too short')$$);
SELECT regress.try($$SELECT arxos.register_contributor('anon-1234', 'Reserved prefix')$$);
SELECT regress.try($$SELECT arxos.register_contributor('Top', 'The leaderboard route')$$);
SELECT regress.try($$SELECT arxos.register_contributor('with space', 'x')$$);
SELECT regress.try($$SELECT arxos.register_contributor('dave', '')$$);
SELECT regress.try($$SELECT arxos.register_contributor('ALICE', 'Second Alice')$$);
-- early_adopter: the first 100 registered contributors, by rank
SELECT count(arxos.register_contributor('user' || g, 'User ' || g)) AS registered FROM generate_series(5, 101) g;
SELECT c.registration_rank, c.handle, array_agg(b.badge ORDER BY b.badge) FILTER (WHERE b.badge IS NOT NULL) AS badges
  FROM arxos.contributors c LEFT JOIN arxos.contributor_badges b ON b.contributor_id = c.id
 WHERE c.registration_rank IN (1, 99, 100, 101)
 GROUP BY c.registration_rank, c.handle ORDER BY 1;
SELECT arxos.contributor_id('ALICE') = arxos.contributor_id('alice') AS handles_ignore_case;
SELECT regress.try($$SELECT arxos.contributor_id('nobody')$$);
-- or by id as text, in either case
SELECT arxos.contributor_id(id::text) = id AS by_id, arxos.contributor_id(upper(id::text)) = id AS by_upper_id
  FROM arxos.contributors WHERE handle = 'alice';
SELECT regress.try($$SELECT arxos.contributor_id('00000000-0000-0000-0000-000000000000')$$);
-- the verifiers: a DBA grants trust by setting reputation
UPDATE arxos.contributors SET reputation = 350 WHERE handle = 'bob';
UPDATE arxos.contributors SET reputation = 650 WHERE handle = 'erin';
SELECT handle, reputation, trust_level FROM arxos.contributors WHERE handle IN ('bob', 'erin') ORDER BY handle;

-------------------------------------------------------------------------------------------------
-- A building and its rating before any contribution
-------------------------------------------------------------------------------------------------
SELECT arxos.create_building('mkt', 'Market Hall') IS NOT NULL AS created;
SELECT (arxos.put('mkt', '/f1', 'floor')).path;
SELECT (arxos.put('mkt', '/f1/r1', 'room', '{"area": 20}', location => '{"x": 1, "y": 1}')).path;
SELECT (arxos.put('mkt', '/f1/r1/ahu', 'ahu', '{"kw": 5}', location => '{"x": 2, "y": 1}')).path;
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity FROM arxos.rating('mkt');
SELECT * FROM arxos.token('mkt');

-------------------------------------------------------------------------------------------------
-- Validation: each rule with a bad input, its own SQLSTATE, and nothing written
-------------------------------------------------------------------------------------------------
SELECT pg_temp.written() AS before_failures;
-- AX001 unknown building
SELECT regress.try($$SELECT arxos.contribute('nope', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1}')$$);
-- AX002 unknown contributor
SELECT regress.try($$SELECT arxos.contribute('mkt', gen_random_uuid(), 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', NULL, 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1}')$$);
-- AX003 unknown object: the path, a malformed path, a connection to nothing (the put before it is undone)
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'object_documentation', pg_temp.h('x'), '{}', '/f1/nope')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'object_documentation', pg_temp.h('x'), '{}', '/')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'object_documentation', pg_temp.h('x'), '{}', '/f1/new',
    '{"puts": [{"path": "/f1/new", "type": "thing"}], "connections": [{"from": "/f1/new", "to": "/f1/ghost", "kind": "feeds"}]}')$$);
-- AX004 unknown type
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'selfie', pg_temp.h('x'))$$);
-- AX005 data_hash not a SHA-256
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', 'abc', '{"floor": 1}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', repeat('g', 64), '{"floor": 1}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', NULL, '{"floor": 1}')$$);
-- AX007 metadata: not an object, a required field missing, a malformed field, a path the type needs
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '[1]')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"scale": "1:100"}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1.5}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1e30}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"floor": "first"}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('x'), '{"captured_at": "2024-05-01T10:00:00Z"}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('x'), '{"image_hash": "beef", "captured_at": "2024-05-01T10:00:00Z"}')$$);
SELECT regress.try(format($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('x'), '{"image_hash": "%s", "captured_at": "yesterday-ish"}')$$, pg_temp.h('img')));
-- a field given as null or blank is not present, so not checked (docs/market.md)
BEGIN;
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'bim_model_update', pg_temp.h('null-floor'),
                                            '{"model_version": "v2", "floor": null, "captured_at": "  "}')$$);
ROLLBACK;
-- ISO 8601 only, from 1900 on: PostgreSQL's words for times are not timestamps
SELECT t, arxos.try_timestamptz(t) IS NOT NULL AS parsed
  FROM unnest(ARRAY['epoch', 'today', '-infinity', 'Jan 5 2024', '2024-05-01', '2024-05-01 10:30', '2024-05-01T10:30:00.5+02', '2024-05-01t10:30:00z', '2024-05-01T23:59:60Z']) t;
SELECT regress.try(format($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('x'), '{"image_hash": "%s", "captured_at": "0001-01-01T00:00:00Z"}')$$, pg_temp.h('img')));
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'object_documentation', pg_temp.h('x'), '{"notes": "no path"}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'sensor_installation', pg_temp.h('x'), '{"sensor": 7}')$$);
-- AX008 sensor_installation: the sensor does not exist after the changes, or is no sensing device
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'sensor_installation', pg_temp.h('x'), '{"sensor": "/f1/r1/t9"}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'sensor_installation', pg_temp.h('x'), '{"sensor": "/f1/r1/ahu"}')$$);
-- AX009 a capture or work time in the future
SELECT regexp_replace(regress.try(format($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('x'), '{"image_hash": "%s", "captured_at": "%s"}')$$,
                          pg_temp.h('img'), to_char((now() + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))), '\(.*\)', '(tomorrow)');
SELECT regexp_replace(regress.try(format($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'maintenance_record', pg_temp.h('x'), '{"performed_at": "%s"}', '/f1/r1/ahu')$$,
                          to_char((now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))), '\(.*\)', '(in an hour)');
-- AX010 changes: malformed, or a write that fails
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '[1, 2]')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"deletes": []}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"puts": [{"path": "/f1/x"}]}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"puts": [{"path": "/f1/x", "type": "t", "colour": "red"}]}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"puts": [{"path": "/f1/x", "type": "t", "status": "shiny"}]}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"puts": [{"path": "/f9/x", "type": "t"}]}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1', '{"connections": [{"from": "/f1/r1", "to": "/f1/r1", "kind": "feeds"}]}')$$);
-- one put per object, however its path is written
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1',
    '{"puts": [{"path": "/f1/q", "type": "sensor"}, {"path": "/f1/r", "type": "t"}, {"path": "/f1//q/", "type": "meter"}]}')$$);
UPDATE arxos.market_settings SET max_changes = 2;
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'quality_improvement', pg_temp.h('x'), '{}', '/f1',
    '{"puts": [{"path": "/f1/a", "type": "t"}, {"path": "/f1/b", "type": "t"}, {"path": "/f1/c", "type": "t"}]}')$$);
UPDATE arxos.market_settings SET max_changes = 1000;
-- 42501 acting for a contributor one does not own
SELECT set_config('arxos.actor', 'mallory', false) IS NOT NULL AS impersonating;
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', pg_temp.h('x'), '{"floor": 1}')$$);
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT pg_temp.written() AS after_failures;

-------------------------------------------------------------------------------------------------
-- A contribution that adds objects: a sensor, monitoring the air handler
-------------------------------------------------------------------------------------------------
SELECT contribution_id IS NOT NULL AS recorded, status, quality, tokens_earned, old_grade, new_grade, old_score, new_score,
       transaction_id IS NOT NULL AS booked, replayed
  FROM arxos.contribute('mkt', arxos.contributor_id('alice'), 'sensor_installation', pg_temp.h('sensor-1'),
       '{"sensor": "/f1/r1/t1", "model": "TMP36", "measures": "temperature"}', NULL,
       '{"puts": [{"path": "/f1/r1/t1", "type": "sensor", "properties": {"unit": "C"}, "location": {"x": 1.5, "y": 1}}],
         "connections": [{"from": "/f1/r1/t1", "to": "/f1/r1/ahu", "kind": "monitors"}]}');
-- the rating moved because of it: one more object, two more instrumented ones
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity FROM arxos.rating('mkt');
SELECT row_number() OVER (ORDER BY id) AS n, old_grade, new_grade, old_score, new_score, reason, object_path,
       contribution_id = (SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('sensor-1')) AS by_contribution
  FROM arxos.rating_history('mkt') ORDER BY id;
-- the reward: 50 × (1 + 2·1) × 0.8 × 1.0 = 120, plus 10 × gain × grade_value(new grade)
SELECT round(120 + 10 * (new_score - old_score) * arxos.grade_value(new_grade)::numeric, 6) AS by_hand, tokens_earned, reward
  FROM arxos.contributions WHERE data_hash = pg_temp.h('sensor-1');
SELECT handle, reputation, trust_level, contributions, objects_documented, buildings_pioneered FROM arxos.contributors WHERE handle = 'alice';

-------------------------------------------------------------------------------------------------
-- One contribution of every type, without object writes (no rating impact)
-------------------------------------------------------------------------------------------------
-- quality: recommended fields present (share), averaged with the touched objects' completeness
-- /f1: documented only (1/3); /f1/r1 and /f1/r1/ahu: located, documented, with properties (1).
-- alice's photo: caption but no device (1/2), the ahu (1): 0.75, 15 × 2.5 × 0.8 = 30
SELECT quality, tokens_earned, old_score = new_score AS no_impact
  FROM arxos.contribute('mkt', arxos.contributor_id('alice'), 'photo_documentation', pg_temp.h('photo-1'),
       format('{"image_hash": "%s", "captured_at": "2024-05-01T10:00:00Z", "caption": "AHU nameplate"}', pg_temp.h('img'))::jsonb,
       '/f1/r1/ahu');
SELECT t.type, r.quality, r.tokens_earned
  FROM (VALUES ('floor_plan_upload', '{"floor": 1, "scale": "1:100"}'::jsonb, NULL::text),
               ('photo_documentation', jsonb_build_object('image_hash', pg_temp.h('img-2'), 'captured_at', '2024-05-02T09:00:00+02:00',
                                                          'caption', 'room 1', 'device', 'phone'), '/f1/r1'),
               ('bim_model_update', '{"model_version": "v2", "format": "ifc", "software": "Revit"}', NULL),
               ('object_documentation', '{"notes": "floor walked"}', '/f1'),
               ('maintenance_record', '{"performed_at": "2024-04-30T08:00:00Z", "work": "filter swap"}', '/f1/r1/ahu'),
               ('quality_improvement', '{}', '/f1/r1'),
               ('property_enrichment', '{"source": "nameplate"}', '/f1/r1/ahu'),
               ('verification_activity', '{"notes": "checked on site"}', '/f1/r1')) AS t(type, meta, path),
       LATERAL arxos.contribute('mkt', arxos.contributor_id('carol'), t.type, pg_temp.h('carol-' || t.type), t.meta, t.path) r
 ORDER BY t.type;
-- by hand: base × (1 + 2q) × 0.8 (pending, newcomer)
--   bim_model_update       q 1     75 × 3 × 0.8          = 180
--   floor_plan_upload      q 0.5   100 × 2 × 0.8         = 160
--   maintenance_record     q 0.75  8 × 2.5 × 0.8         = 16
--   object_documentation   q 0.667 10 × 2.334 × 0.8      = 18.672
--   photo_documentation    q 1     15 × 3 × 0.8          = 36
--   property_enrichment    q 1     5 × 3 × 0.8           = 12
--   quality_improvement    q 0.5   7 × 2 × 0.8           = 11.2   (no notes: fields 0, /f1/r1 complete: 1)
--   verification_activity  q 1     3 × 3 × 0.8           = 7.2
SELECT handle, reputation, contributions, buildings_pioneered FROM arxos.contributors WHERE handle IN ('alice', 'carol') ORDER BY handle;
-- AX006 the same data again (also in capitals), even from someone else
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('carol'), 'floor_plan_upload', pg_temp.h('carol-floor_plan_upload'), '{"floor": 1}')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('alice'), 'floor_plan_upload', upper(pg_temp.h('carol-floor_plan_upload')), '{"floor": 1}')$$);

-------------------------------------------------------------------------------------------------
-- Idempotency: the same key returns the first result and books nothing more
-------------------------------------------------------------------------------------------------
SELECT status, quality, tokens_earned, replayed FROM arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation',
       pg_temp.h('bob-1'), '{"notes": "x"}', '/f1/r1', idempotency_key => 'bob-key-1');
SELECT pg_temp.written() AS after_first;
SELECT status, quality, tokens_earned, replayed FROM arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation',
       pg_temp.h('bob-1'), '{"notes": "x"}', '/f1/r1', idempotency_key => 'bob-key-1');
SELECT pg_temp.written() AS after_replay;
SELECT count(DISTINCT contribution_id) AS one_contribution FROM (
    SELECT contribution_id FROM arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-1'), '{"notes": "x"}', '/f1/r1', idempotency_key => 'bob-key-1')
    UNION ALL SELECT id FROM arxos.contributions WHERE idempotency_key = 'bob-key-1') x;
-- AX012 the key with different content, or an empty key
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-2'), '{}', '/f1/r1', idempotency_key => 'bob-key-1')$$);
-- the same hash with other metadata or another path is a different request too; a path written
-- differently but normalising to the same one is not
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-1'), '{"notes": "y"}', '/f1/r1', idempotency_key => 'bob-key-1')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-1'), '{"notes": "x"}', '/f1/r2', idempotency_key => 'bob-key-1')$$);
SELECT replayed FROM arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-1'), '{"notes": "x"}', '//f1/r1/', idempotency_key => 'bob-key-1');
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-2'), '{}', '/f1/r1', idempotency_key => '')$$);

-------------------------------------------------------------------------------------------------
-- Rate limit (AX011): per contributor and building, configurable
-------------------------------------------------------------------------------------------------
UPDATE arxos.market_settings SET rate_limit = 2;
-- bob has one contribution to mkt in the window: one more is allowed, the next is refused
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-2'), '{}', '/f1/r1')$$);
SELECT regress.try($$SELECT arxos.contribute('mkt', arxos.contributor_id('bob'), 'object_documentation', pg_temp.h('bob-3'), '{}', '/f1/r1')$$);
-- another building has its own count
SELECT arxos.create_building('mkt2', 'Market Annex') IS NOT NULL AS created;
SELECT regress.try($$SELECT arxos.contribute('mkt2', arxos.contributor_id('bob'), 'floor_plan_upload', pg_temp.h('bob-3'), '{"floor": 0}')$$);
UPDATE arxos.market_settings SET rate_limit = 60;

-------------------------------------------------------------------------------------------------
-- Verification: re-reward, the verifier's pay, reputation, counters, the rating's V30
-------------------------------------------------------------------------------------------------
CREATE TEMP VIEW k AS SELECT c.type, c.data_hash, c.id FROM arxos.contributions c;
-- rules first: AX016 status, AX017 contribution, AX014 own work, AX015 trust, AX002, 42501
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('bob'), 'pending')$$);
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('bob'), 'verified')$$);
SELECT regress.try($$SELECT arxos.verify_contribution(gen_random_uuid(), arxos.contributor_id('bob'), 'peer_verified')$$);
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('alice'), 'auto_verified')$$);
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('carol'), 'peer_verified')$$);
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('bob'), 'expert_verified')$$);
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), gen_random_uuid(), 'auto_verified')$$);
SELECT set_config('arxos.actor', 'mallory', false) IS NOT NULL AS impersonating;
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('photo-1')), arxos.contributor_id('bob'), 'peer_verified')$$);
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT pg_temp.written() AS nothing_booked;
-- carol's contributions, one per status. Rewards of carol's work (newcomer when she made it):
--   photo q1: pending 36, auto 15·3·1.2 = 54; floor q0.5: peer 100·2·1.5 = 300;
--   bim q1: expert 75·3·2 = 450; maintenance q0.75: rejected 0, expert 8·2.5·2 = 40
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-photo_documentation')), arxos.contributor_id('alice'), 'auto_verified');
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-floor_plan_upload')), arxos.contributor_id('bob'), 'peer_verified');
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-bim_model_update')), arxos.contributor_id('erin'), 'expert_verified');
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-maintenance_record')), arxos.contributor_id('bob'), 'rejected');
-- a rejected contribution can be reinstated, by an expert (rejected needs trusted, expert_verified expert)
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-maintenance_record')), arxos.contributor_id('erin'), 'expert_verified');
-- changing an expert's verdict needs an expert (AX015); the same status again books nothing
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-bim_model_update')), arxos.contributor_id('bob'), 'rejected')$$);
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-bim_model_update')), arxos.contributor_id('erin'), 'expert_verified');
-- a verifier is paid once per contribution: peer (paid), auto, peer again (not paid again)
-- object_documentation q0.667: pending 18.672, auto 10·2.334·1.2 = 28.008, peer 10·2.334·1.5 = 35.01
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-object_documentation')), arxos.contributor_id('erin'), 'peer_verified');
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-object_documentation')), arxos.contributor_id('erin'), 'auto_verified');
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-object_documentation')), arxos.contributor_id('erin'), 'peer_verified');
-- property_enrichment q1: peer 5·3·1.5 = 22.5, then rejected by a peer: all 22.5 back
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-property_enrichment')), arxos.contributor_id('bob'), 'peer_verified');
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-property_enrichment')), arxos.contributor_id('bob'), 'expert_verified')$$);
SELECT old_status, new_status, tokens_delta, tokens_earned, verifier_reward
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-property_enrichment')), arxos.contributor_id('bob'), 'rejected');
-- alice's sensor, expert-verified: 50·3·2 = 300 plus the same impact bonus as before
SELECT old_status, new_status, tokens_delta, v.verifier_reward,
       v.tokens_earned = round(300 + 10 * (c.new_score - c.old_score) * arxos.grade_value(c.new_grade)::numeric, 6) AS by_hand
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('sensor-1')), arxos.contributor_id('erin'), 'expert_verified') v
  JOIN arxos.contributions c ON c.id = v.contribution_id;
-- every contribution: status, reward of the status, tokens booked
SELECT p.handle, c.type, c.quality, c.trust_level, c.status, c.reward, c.tokens_earned, c.verified_at IS NOT NULL AS verified
  FROM arxos.contributions c JOIN arxos.contributors p ON p.id = c.contributor_id
 ORDER BY p.handle, c.type, c.created_at;
-- reputation: pending q·1 each, then the status differences (carol: 6.417 + 2 + 2 + 9 − 4.5 + 11.25
-- + 2.668 − 1.334 + 1.334 + 4 − 10 = 22.835); counters; what verifiers did
SELECT handle, reputation, trust_level, contributions, verified_contributions, rejected_contributions,
       verifications_given, objects_documented
  FROM arxos.contributors WHERE handle IN ('alice', 'bob', 'carol', 'erin') ORDER BY handle;
SELECT * FROM arxos.balances(arxos.contributor_id('carol'));
-- an unknown contributor is AX002 there too, not a holder of nothing (found by an audit)
SELECT regress.try($$SELECT count(*) FROM arxos.balances(NULL)$$) AS null_contributor,
       regress.try($$SELECT count(*) FROM arxos.balances('00000000-0000-0000-0000-000000000000')$$) AS unknown_contributor;
SELECT handle, arxos.balance(id) AS total, arxos.balance(id, 'mkt') AS in_mkt
  FROM arxos.contributors WHERE handle IN ('alice', 'bob', 'carol', 'erin') ORDER BY handle;
-- the rating's V30 did not move: the six verified contributions were verified by identities of
-- their contributors' own owner (this session's actor registered them all); counters equal the oracle
SELECT verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt'));
SELECT (SELECT row(i.*)::text FROM arxos.rating_inputs(arxos.building_id('mkt')) i) =
       (SELECT row(i.*)::text FROM arxos.rating_inputs_scan(arxos.building_id('mkt')) i) AS inputs_equal_oracle;
SELECT row_number() OVER (ORDER BY id) AS n, old_score, new_score, reason, contribution_id IS NOT NULL AS has_contribution
  FROM arxos.rating_history('mkt') ORDER BY id;

-------------------------------------------------------------------------------------------------
-- Trust levels and badges at their boundaries
-------------------------------------------------------------------------------------------------
-- alice at 99.5: a contribution of quality 1 (+1) makes her a contributor; the reward of that
-- contribution uses her level before it (newcomer: 5·3·0.8 = 12), the next one the new level
-- (×1.2: 14.4). It writes two objects: with 998 documented before, she reaches data_hero's 1000.
UPDATE arxos.contributors SET reputation = 99.5, objects_documented = 998 WHERE handle = 'alice';
-- rating impact: 6 objects (5 located, 5 with properties, 2 instrumented), 6 changes, 6 verified:
-- 64.264 (0n, value 2^2.4 = 5.278032); 12 + 10 × (64.264 − 62.267) × 5.278032 = 117.402292
SELECT quality, tokens_earned, old_grade, new_grade, old_score, new_score FROM arxos.contribute('mkt', arxos.contributor_id('alice'), 'property_enrichment', pg_temp.h('alice-pe-1'),
       '{"source": "survey"}', '/f1/r2/lamp',
       '{"puts": [{"path": "/f1/r2", "type": "room", "properties": {"area": 12}, "location": {"x": 5, "y": 5}},
                  {"path": "/f1/r2/lamp", "type": "light", "properties": {"watts": 9}, "location": {"x": 5, "y": 6}}]}');
SELECT reputation, trust_level, objects_documented FROM arxos.contributors WHERE handle = 'alice';
SELECT quality, tokens_earned FROM arxos.contribute('mkt', arxos.contributor_id('alice'), 'property_enrichment', pg_temp.h('alice-pe-2'),
       '{"source": "survey"}', '/f1/r2');
-- ten_contributions: carol has 8; the 9th earns nothing, the 10th the badge
SELECT tokens_earned FROM arxos.contribute('mkt', arxos.contributor_id('carol'), 'object_documentation', pg_temp.h('carol-9'), '{"notes": "ninth"}', '/f1/r1');
SELECT array_agg(badge ORDER BY badge) AS carol_badges FROM arxos.contributor_badges WHERE contributor_id = arxos.contributor_id('carol');
SELECT tokens_earned FROM arxos.contribute('mkt', arxos.contributor_id('carol'), 'object_documentation', pg_temp.h('carol-10'), '{"notes": "tenth"}', '/f1/r1');
SELECT array_agg(badge ORDER BY badge) AS carol_badges FROM arxos.contributor_badges WHERE contributor_id = arxos.contributor_id('carol');
-- verifier: bob has given 4 verifications; at 9 nothing, the 10th earns it
UPDATE arxos.contributors SET verifications_given = 8 WHERE handle = 'bob';
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-9')), arxos.contributor_id('bob'), 'auto_verified');
SELECT count(*) AS bob_verifier FROM arxos.contributor_badges WHERE contributor_id = arxos.contributor_id('bob') AND badge = 'verifier';
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-10')), arxos.contributor_id('bob'), 'auto_verified');
SELECT count(*) AS bob_verifier FROM arxos.contributor_badges WHERE contributor_id = arxos.contributor_id('bob') AND badge = 'verifier';
-- the counter badges follow plain UPDATEs of the counters too (a DBA's correction)
UPDATE arxos.contributors SET contributions = 99 WHERE handle = 'user50';
UPDATE arxos.contributors SET contributions = 999, verified_contributions = 0 WHERE handle = 'user51';
UPDATE arxos.contributors SET contributions = 51, verified_contributions = 48 WHERE handle = 'user52';
UPDATE arxos.contributors SET contributions = 50, verified_contributions = 50 WHERE handle = 'user53';
UPDATE arxos.contributors SET objects_documented = 999 WHERE handle = 'user54';
SELECT c.handle, array_agg(b.badge ORDER BY b.badge) AS badges
  FROM arxos.contributors c JOIN arxos.contributor_badges b ON b.contributor_id = c.id
 WHERE c.handle IN ('user50', 'user51', 'user52', 'user53', 'user54') GROUP BY c.handle ORDER BY c.handle;
UPDATE arxos.contributors SET contributions = 100 WHERE handle = 'user50';
UPDATE arxos.contributors SET contributions = 1000 WHERE handle = 'user51';
UPDATE arxos.contributors SET verified_contributions = 49 WHERE handle = 'user52';
UPDATE arxos.contributors SET objects_documented = 1000 WHERE handle = 'user54';
SELECT c.handle, array_agg(b.badge ORDER BY b.badge) AS badges
  FROM arxos.contributors c JOIN arxos.contributor_badges b ON b.contributor_id = c.id
 WHERE c.handle IN ('user50', 'user51', 'user52', 'user53', 'user54') GROUP BY c.handle ORDER BY c.handle;
-- a badge, once earned, stays (and is awarded once)
UPDATE arxos.contributors SET contributions = 5 WHERE handle = 'user50';
UPDATE arxos.contributors SET contributions = 100 WHERE handle = 'user50';
SELECT count(*) AS hundred_once FROM arxos.contributor_badges b JOIN arxos.contributors c ON c.id = b.contributor_id
 WHERE c.handle = 'user50' AND b.badge = 'hundred_contributions';
SELECT c.handle, b.badge, b.why
  FROM arxos.contributor_badges b JOIN arxos.contributors c ON c.id = b.contributor_id
 WHERE c.handle IN ('alice', 'bob', 'carol', 'erin') ORDER BY c.handle, b.badge;

-------------------------------------------------------------------------------------------------
-- Transfers
-------------------------------------------------------------------------------------------------
SELECT pg_temp.written() AS before_bad_transfers;
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 0)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), -5)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1.0000001)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 'NaN')$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('carol'), 1)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), gen_random_uuid(), 1)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1, building => 'nope')$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1, E'pay \u202Eevil')$$) AS invisible_memo;
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1, '   ')$$) AS blank_memo;
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 100000)$$);
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1, building => 'mkt2')$$);
SELECT set_config('arxos.actor', 'mallory', false) IS NOT NULL AS impersonating;
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 1)$$);
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT pg_temp.written() AS after_bad_transfers;
-- carol holds 969.41: the 897.41 above and two object_documentation (24 each, auto-verified: 36 each)
SELECT arxos.balance(arxos.contributor_id('carol')) AS carol_before;
SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 900, 'for the ladder',
                      idempotency_key => 'ladder-1') AS ladder_tx \gset
SELECT handle, arxos.balance(id) AS total FROM arxos.contributors WHERE handle IN ('alice', 'carol') ORDER BY handle;
-- a retry under the same key books nothing and answers the same transaction; another transfer
-- under the key is AX012; the key is the sender's (another sender may use it)
SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 900, 'for the ladder',
                      idempotency_key => 'ladder-1') = :ladder_tx AS same_transaction;
SELECT regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 901, 'for the ladder',
                                           idempotency_key => 'ladder-1')$$) AS other_amount,
       regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('bob'), 900, 'for the ladder',
                                           idempotency_key => 'ladder-1')$$) AS other_recipient,
       regress.try($$SELECT arxos.transfer(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 900, 'for the ladder',
                                           idempotency_key => '')$$) AS empty_key;
SELECT handle, arxos.balance(id) AS total FROM arxos.contributors WHERE handle IN ('alice', 'carol') ORDER BY handle;
SELECT count(*) AS keyed FROM arxos.ledger_transactions WHERE idempotency_key = 'ladder-1';
-- a retry through a key limited to another building (whose row-level security hides the
-- first transfer's accounts) is still recognised as the same transfer
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT set_config('arxos.building_ids', (SELECT id::text FROM arxos.buildings WHERE key = 'mkt2'), true) IS NOT NULL AS scoped,
       set_config('arxos.actor', (SELECT owner FROM arxos.contributors WHERE handle = 'carol'), true) IS NOT NULL AS as_carol_owner;
SELECT transaction_id = :ladder_tx AS same_transaction, replayed
  FROM arxos.transfer_or_replay(arxos.contributor_id('carol'), arxos.contributor_id('alice'), 900, 'for the ladder',
                                idempotency_key => 'ladder-1');
ROLLBACK;
SELECT regress.try($$UPDATE arxos.ledger_transactions SET idempotency_key = 'other' WHERE idempotency_key = 'ladder-1'$$) AS key_kept;
-- a claw-back takes at most what is left: erin rejects carol's bim model (450 booked)
SELECT old_status, new_status, tokens_delta, tokens_earned
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-bim_model_update')), arxos.contributor_id('erin'), 'rejected');
SELECT reward, tokens_earned, tokens_earned - reward AS unrecovered FROM arxos.contributions WHERE data_hash = pg_temp.h('carol-bim_model_update');
SELECT arxos.balance(arxos.contributor_id('carol')) AS carol_after_claw_back;
-- reinstated: only the difference to 450 is paid
SELECT old_status, new_status, tokens_delta, tokens_earned
  FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-bim_model_update')), arxos.contributor_id('erin'), 'expert_verified');
-- without a building, the sender's holdings are drawn largest first: erin holds tokens of both buildings
SELECT tokens_earned FROM arxos.contribute('mkt2', arxos.contributor_id('erin'), 'floor_plan_upload', pg_temp.h('erin-plan'), '{"floor": 0, "scale": "1:50", "format": "pdf"}');
SELECT * FROM arxos.balances(arxos.contributor_id('erin'));
SELECT arxos.transfer(arxos.contributor_id('erin'), arxos.contributor_id('bob'), 485, 'two buildings') IS NOT NULL AS paid;
SELECT * FROM arxos.balances(arxos.contributor_id('erin'));
SELECT * FROM arxos.balances(arxos.contributor_id('bob'));
-- a contributor's statement: newest first, what each transaction moved in all and per building,
-- the other side of a transfer; pages with before; one building's; an unknown contributor
SELECT kind, amount, parts, counterparty, regexp_replace(memo, '[0-9a-f-]{36}', '<id>') AS memo
  FROM arxos.statement(arxos.contributor_id('erin'), max => 3);
SELECT count(*) = (SELECT count(*) FROM arxos.statement(arxos.contributor_id('erin'))) - 1 AS paged
  FROM arxos.statement(arxos.contributor_id('erin'),
                       before => (SELECT max(transaction_id) FROM arxos.statement(arxos.contributor_id('erin'))));
SELECT kind, amount, parts FROM arxos.statement(arxos.contributor_id('erin'), 'mkt2');
SELECT sum(amount) = arxos.balance(arxos.contributor_id('erin')) AS sums_to_balance FROM arxos.statement(arxos.contributor_id('erin'));
SELECT regress.try($$SELECT * FROM arxos.statement(gen_random_uuid())$$) AS unknown,
       regress.try($$SELECT * FROM arxos.statement(arxos.contributor_id('erin'), 'nope')$$) AS unknown_building,
       regress.try($$SELECT * FROM arxos.statement(arxos.contributor_id('erin'), max => -1)$$) AS negative_max;
SELECT t.kind, t.building_id IS NULL AS several_buildings, t.memo, e.amount, k.key, c.handle
  FROM arxos.ledger_transactions t JOIN arxos.ledger_entries e ON e.transaction_id = t.id
  JOIN arxos.accounts a ON a.id = e.account_id JOIN arxos.buildings k ON k.id = a.building_id
  JOIN arxos.contributors c ON c.id = a.contributor_id
 WHERE t.id = (SELECT max(id) FROM arxos.ledger_transactions) ORDER BY e.id;

-------------------------------------------------------------------------------------------------
-- Market data, leaderboards, events
-------------------------------------------------------------------------------------------------
SELECT * FROM arxos.token('mkt');
SELECT t.supply = round(1000000 * (1 + 2 * t.score / 100), 6) AS supply_ok,
       t.circulating = round(t.supply * 0.7, 6) AND t.locked = t.supply - t.circulating AS shares_ok,
       t.price = round(0.01 * arxos.grade_value(t.grade)::numeric * (1 + t.score / 100), 6) AS price_ok,
       t.market_cap = round(t.supply * t.price, 6) AS cap_ok,
       t.minted = (SELECT sum(tokens_earned) FROM arxos.contributions c WHERE c.building_id = arxos.building_id('mkt'))
                + (SELECT sum(w.verifier_reward) FROM arxos.verifications w JOIN arxos.contributions c ON c.id = w.contribution_id
                    WHERE c.building_id = arxos.building_id('mkt')) AS minted_ok
  FROM arxos.token('mkt') t;
SELECT rank, handle, trust_level, reputation, earned, contributions FROM arxos.leaderboard();
SELECT rank, handle, earned, contributions FROM arxos.leaderboard('mkt2');
SELECT regress.try($$SELECT * FROM arxos.leaderboard(max => 0)$$);
-- a request limited to one building ranks what it may see: contributors of other buildings
-- only are not listed, and counts are of its buildings' contributions
BEGIN;
SELECT set_config('role', 'arxos_api', true) AS role,
       set_config('arxos.building_ids', arxos.building_id('mkt2')::text, true) IS NOT NULL AS scoped;
SELECT rank, handle, earned, contributions FROM arxos.leaderboard();
ROLLBACK;
-- a key used in a building the caller cannot see is refused as reused (AX012), naming nothing
-- of the hidden contribution (it failed as AX006, "already contributed", a false claim)
BEGIN;
SELECT set_config('arxos.actor', (SELECT owner FROM arxos.contributors WHERE handle = 'bob'), true) IS NOT NULL AS as_bob_owner;
SELECT set_config('role', 'arxos_api', true) AS role,
       set_config('arxos.building_ids', arxos.building_id('mkt2')::text, true) IS NOT NULL AS scoped;
DO $$
BEGIN
    PERFORM arxos.contribute('mkt2', arxos.contributor_id('bob'), 'object_documentation',
                             pg_temp.h('bob-hidden'), '{}', idempotency_key => 'bob-key-1');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'hidden key: %: %', SQLSTATE, SQLERRM;
END
$$;
ROLLBACK;
SELECT arxos.sequence_events(1000000) >= 0 AS sequenced;
SELECT type, count(*) FROM arxos.events_since(0, types => ARRAY['market.*'], max => 100000)
 WHERE building_id IN (SELECT id FROM arxos.buildings WHERE key LIKE 'mkt%') OR type = 'market.trade'
 GROUP BY type ORDER BY type;
-- the first contribution's events, and the first verification's
SELECT type, path, body - 'contribution_id' - 'contributor_id' - 'transaction_id' - 'verifier_id' - 'data_hash' AS body
  FROM arxos.events_since(0, types => ARRAY['market.contribution', 'market.reward'], building => 'mkt', max => 100000)
 WHERE (body ->> 'contribution_id')::uuid IN (SELECT id FROM k WHERE data_hash IN (pg_temp.h('sensor-1'), pg_temp.h('carol-floor_plan_upload')))
 ORDER BY id;
-- one market.trade per building whose tokens moved, in that building, with its part only
-- (scoped consumers see it, and nothing of the other buildings)
SELECT building_key, body - 'transaction_id' - 'from' - 'to' AS body, body ? 'transaction_id' AS grouped
  FROM arxos.events_since(0, types => ARRAY['market.trade'], max => 100000) ORDER BY id;
SELECT body ->> 'old_grade' AS old_grade, body ->> 'new_grade' AS new_grade, body -> 'old_score' AS old_score,
       body -> 'new_score' AS new_score, body -> 'old_price' AS old_price, body -> 'new_price' AS new_price
  FROM arxos.events_since(0, types => ARRAY['market.signal'], building => 'mkt', max => 100000) ORDER BY id;

-------------------------------------------------------------------------------------------------
-- Forgetting a contributor
-------------------------------------------------------------------------------------------------
-- a keyed transfer to carol, retried after she is forgotten (below): answered, not refused
SELECT arxos.transfer(arxos.contributor_id('alice'), arxos.contributor_id('carol'), 1, idempotency_key => 'to-carol') AS to_carol_tx \gset
CREATE TEMP TABLE before_forget AS
    SELECT (SELECT row(r.grade, r.score, r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity)::text
              FROM arxos.rating('mkt') r) AS rating,
           arxos.balance(arxos.contributor_id('carol')) AS balance,
           (SELECT sum(balance) FROM arxos.accounts) AS held;
SELECT c.type, c.metadata FROM arxos.contributions c WHERE c.contributor_id = arxos.contributor_id('carol')
   AND c.type IN ('photo_documentation', 'maintenance_record', 'floor_plan_upload') ORDER BY c.type;
SELECT set_config('arxos.actor', 'mallory', false) IS NOT NULL AS impersonating;
SELECT regress.try($$SELECT arxos.forget_contributor(arxos.contributor_id('carol'))$$);
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT arxos.contributor_id('carol') AS carol \gset
SELECT arxos.forget_contributor(:'carol') = 'anon-' || replace(:'carol', '-', '') AS pseudonym;
SELECT arxos.forget_contributor(:'carol') = 'anon-' || replace(:'carol', '-', '') AS again_same;
SELECT handle ~ '^anon-[0-9a-f]{32}$' AS handle_pseudonym, display_name, owner = handle AS owner_pseudonym,
       forgotten_at IS NOT NULL AS forgotten, contributions, reputation
  FROM arxos.contributors WHERE id = :'carol';
SELECT c.type, c.metadata FROM arxos.contributions c WHERE c.contributor_id = :'carol'
   AND c.type IN ('photo_documentation', 'maintenance_record', 'floor_plan_upload') ORDER BY c.type;
SELECT count(*) AS transfer_memos_left FROM arxos.ledger_transactions t
 WHERE t.kind = 'transfer' AND t.memo IS NOT NULL AND EXISTS (SELECT 1 FROM arxos.ledger_entries e JOIN arxos.accounts a ON a.id = e.account_id
                                       WHERE e.transaction_id = t.id AND a.contributor_id = :'carol' AND e.amount < 0);
SELECT (SELECT row(r.grade, r.score, r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity)::text
          FROM arxos.rating('mkt') r) = b.rating AS rating_same,
       arxos.balance(:'carol') = b.balance AS balance_same,
       (SELECT sum(balance) FROM arxos.accounts) = b.held AS ledger_same
  FROM before_forget b;
SELECT count(*) AS violations FROM arxos.ledger_check();
SELECT t.transaction_id = :to_carol_tx AS same_transaction, t.replayed
  FROM arxos.transfer_or_replay(arxos.contributor_id('alice'), :'carol', 1, idempotency_key => 'to-carol') t;
-- memos and actors are erased, never rewritten
SELECT regress.try(format($$UPDATE arxos.ledger_transactions SET memo = 'forged' WHERE id = %s$$, :ladder_tx)) AS memo_rewritten,
       regress.try(format($$UPDATE arxos.ledger_transactions SET actor = 'someone' WHERE id = %s$$, :ladder_tx)) AS actor_rewritten,
       regress.try(format($$UPDATE arxos.ledger_transactions SET actor = 'anon-' || replace(%L, '-', '') WHERE id = %s$$,
                          arxos.contributor_id('alice'), :ladder_tx)) AS not_its_pseudonym;
-- the account is frozen; the work stays, and can still be verified
SELECT regress.try(format($$SELECT arxos.contribute('mkt', %L, 'floor_plan_upload', pg_temp.h('carol-late'), '{"floor": 2}')$$, :'carol'));
SELECT regress.try(format($$SELECT arxos.transfer(arxos.contributor_id('alice'), %L, 1)$$, :'carol'));
SELECT regress.try(format($$SELECT arxos.transfer(%L, arxos.contributor_id('alice'), 1)$$, :'carol'));
SELECT new_status, tokens_delta FROM arxos.verify_contribution((SELECT id FROM k WHERE data_hash = pg_temp.h('carol-quality_improvement')), arxos.contributor_id('bob'), 'auto_verified');
-- (a verification of a forgotten contributor's work does not count in the rating's V30: its
-- owner is a pseudonym now, which bob's owner, carol's former one, would otherwise not share)
SELECT verified_by_same_owner FROM arxos.contributions WHERE data_hash = pg_temp.h('carol-quality_improvement');

-------------------------------------------------------------------------------------------------
-- The ledger's invariants
-------------------------------------------------------------------------------------------------
SELECT * FROM arxos.ledger_check();
SELECT count(*) AS mismatched_balances FROM arxos.accounts a
 WHERE a.contributor_id IS NOT NULL
   AND a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM arxos.ledger_entries e WHERE e.account_id = a.id);
SELECT sum(balance) = (SELECT -sum(e.amount) FROM arxos.ledger_entries e JOIN arxos.accounts m ON m.id = e.account_id
                        WHERE m.contributor_id IS NULL) AS held_equals_minted
  FROM arxos.accounts;
-- append-only (AX023)
SELECT regress.try($$UPDATE arxos.ledger_entries SET amount = amount * 2$$);
SELECT regress.try($$DELETE FROM arxos.ledger_entries$$);
SELECT regress.try($$DELETE FROM arxos.ledger_transactions$$);
SELECT regress.try($$TRUNCATE arxos.ledger_entries CASCADE$$);
SELECT regress.try($$UPDATE arxos.ledger_transactions SET building_id = NULL$$);
SELECT regress.try($$UPDATE arxos.accounts SET balance = balance + 1000 WHERE contributor_id IS NOT NULL$$);
-- nor from a trigger of one's own (a nested UPDATE, at the depth of the entry trigger's): the
-- API's role may not update accounts at all, the entry trigger runs as the owner
BEGIN;
SET LOCAL ROLE arxos_api;
CREATE TEMP TABLE lever (x int);
CREATE FUNCTION pg_temp.pull() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE arxos.accounts SET balance = 1000000, earned = 1000000 WHERE contributor_id IS NOT NULL;
    RETURN NULL;
END $f$;
CREATE TRIGGER pull AFTER INSERT ON lever FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.pull();
INSERT INTO lever VALUES (1);
ROLLBACK;
SELECT regress.try($$INSERT INTO arxos.accounts (building_id, contributor_id, balance, earned)
    SELECT arxos.building_id('mkt'), c.id, 1000000, 1000000 FROM arxos.contributors c
     WHERE NOT EXISTS (SELECT 1 FROM arxos.accounts a WHERE a.contributor_id = c.id AND a.building_id = arxos.building_id('mkt'))
     LIMIT 1$$);
SELECT regress.try($$UPDATE arxos.contributions SET quality = 1$$);
SELECT regress.try($$UPDATE arxos.contributions SET changes = '{"puts": []}'$$);
SELECT regress.try($$UPDATE arxos.contributions SET first_reward = 99999 WHERE first_transaction_id IS NOT NULL$$);
-- the reward is the status's, derived: a plain UPDATE of it changes nothing
BEGIN;
WITH u AS (UPDATE arxos.contributions x SET reward = 99999 RETURNING x.reward = arxos.contribution_reward_for(x, x.status) AS derived)
SELECT bool_and(derived) AS reward_derived, count(*) > 0 AS some FROM u;
ROLLBACK;
SELECT regress.try($$UPDATE arxos.ledger_transactions SET memo = NULL$$);
-- AX024: a transaction that does not balance, or has a single entry, is refused at commit (here: at once)
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT regexp_replace(regress.try($$WITH t AS (INSERT INTO arxos.ledger_transactions (kind) VALUES ('transfer') RETURNING id)
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, a.id, 5 FROM t, arxos.accounts a WHERE a.contributor_id IN (arxos.contributor_id('alice'), arxos.contributor_id('bob'))
       AND a.building_id = arxos.building_id('mkt')$$), '(transaction|building) [^ :]+', '\1 _', 'g') AS unbalanced;
SELECT regexp_replace(regress.try($$WITH t AS (INSERT INTO arxos.ledger_transactions (kind) VALUES ('transfer') RETURNING id)
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, a.id, 5 FROM t, arxos.accounts a WHERE a.contributor_id = arxos.contributor_id('alice')
       AND a.building_id = arxos.building_id('mkt')$$), 'transaction [0-9]+', 'transaction _') AS single_entry;
ROLLBACK;
-- an overdraft by plain INSERT breaks the CHECK
SELECT regress.try($$WITH t AS (INSERT INTO arxos.ledger_transactions (kind) VALUES ('transfer') RETURNING id)
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, a.id, CASE WHEN a.contributor_id = arxos.contributor_id('bob') THEN 1000000 ELSE -1000000 END
      FROM t, arxos.accounts a WHERE a.contributor_id IN (arxos.contributor_id('alice'), arxos.contributor_id('bob'))
       AND a.building_id = arxos.building_id('mkt')$$);
-- entries cannot be added to a transaction booked in an earlier database transaction (here: the
-- oldest), even balanced; its time is always its booking transaction's
SELECT regexp_replace(regress.try($$INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT (SELECT min(id) FROM arxos.ledger_transactions), a.id, CASE WHEN a.contributor_id = arxos.contributor_id('bob') THEN 1 ELSE -1 END
      FROM arxos.accounts a WHERE a.contributor_id IN (arxos.contributor_id('alice'), arxos.contributor_id('bob'))
       AND a.building_id = arxos.building_id('mkt')$$), 'transaction [0-9]+', 'transaction _') AS appended_to_old;
-- a transfer cannot draw on a mint (tokens out of nothing), a reward not on another building's
-- accounts: refused when booked (AX024), not only found later by ledger_check
SELECT regexp_replace(regress.try($$WITH t AS (INSERT INTO arxos.ledger_transactions (kind, building_id) VALUES ('transfer', arxos.building_id('mkt')) RETURNING id)
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, a.id, CASE WHEN a.contributor_id IS NULL THEN -1000 ELSE 1000 END
      FROM t, arxos.accounts a WHERE a.building_id = arxos.building_id('mkt')
       AND (a.contributor_id IS NULL OR a.contributor_id = arxos.contributor_id('alice'))$$),
    '(transaction|account) [0-9a-f-]+', '\1 _', 'g') AS transfer_from_mint;
SELECT regexp_replace(regress.try($$WITH t AS (INSERT INTO arxos.ledger_transactions (kind, building_id, contribution_id)
        SELECT 'reward', c.building_id, c.id FROM arxos.contributions c WHERE c.building_id = arxos.building_id('mkt') LIMIT 1 RETURNING id)
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, a.id, CASE WHEN a.contributor_id IS NULL THEN -5 ELSE 5 END
      FROM t, arxos.accounts a WHERE a.building_id = arxos.building_id('mkt2')
       AND (a.contributor_id IS NULL OR a.contributor_id = arxos.contributor_id('erin'))$$),
    '(transaction|account) [0-9a-f-]+', '\1 _', 'g') AS reward_elsewhere;
BEGIN;
WITH t AS (INSERT INTO arxos.ledger_transactions (kind, at) VALUES ('transfer', '2000-01-01') RETURNING at)
SELECT at = now() AS booked_now FROM t;
ROLLBACK;
-- a handle shaped like a UUID would read as an id
SELECT regress.try($$SELECT arxos.register_contributor('01234567-89ab-cdef-0123-456789abcdef', 'Looks like an id')$$) AS uuid_handle;
-- in any form PostgreSQL reads as a UUID (found by an audit: 32 hex digits took another
-- contributor's id without hyphens), and such text names a contributor by id
SELECT regress.try($$SELECT arxos.register_contributor('0123456789abcdef0123456789abcdef', 'Looks like an id')$$) AS compact_uuid_handle;
SELECT regress.try($$SELECT arxos.register_contributor('0123-4567-89ab-cdef-0123-4567-89ab-cdef', 'Looks like an id')$$) AS grouped_uuid_handle;
-- only ASCII letters are lowered, whatever the locale's case mapping (found by an audit: the
-- Kelvin sign registered kelvin)
SELECT regress.try($$SELECT arxos.register_contributor(E'\u212Aelvin', 'Kelvin sign')$$) AS kelvin_sign;
SELECT regress.try($$SELECT arxos.register_contributor(E'\u0130stanbul', 'Dotted I')$$) AS dotted_i;
BEGIN;
SELECT arxos.register_contributor('kelvin', 'Kelvin') IS NOT NULL AS registered;
SELECT regress.try($$SELECT arxos.contributor_id(E'\u212AELVIN')$$) AS kelvin_sign_lookup,
       arxos.contributor_id('KELVIN') = arxos.contributor_id('kelvin') AS ascii_any_case;
ROLLBACK;
SELECT arxos.contributor_id(replace(c.id::text, '-', '')) = c.id AS compact_id_finds,
       arxos.contributor_id(upper(c.id::text)) = c.id AS upper_id_finds
  FROM arxos.contributors c ORDER BY c.registration_rank LIMIT 1;
-- tokens minted by hand, not by a reward, are found by ledger_check
BEGIN;
WITH t AS (INSERT INTO arxos.ledger_transactions (kind, building_id, contribution_id)
           VALUES ('reward', arxos.building_id('mkt2'), (SELECT id FROM k WHERE data_hash = pg_temp.h('erin-plan'))) RETURNING id)
INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
SELECT t.id, a.id, CASE WHEN a.contributor_id IS NULL THEN -7 ELSE 7 END
  FROM t, arxos.accounts a WHERE a.building_id = arxos.building_id('mkt2') AND (a.contributor_id IS NULL OR a.contributor_id = arxos.contributor_id('erin'));
SELECT problem, regexp_replace(detail, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g') AS detail
  FROM arxos.ledger_check() ORDER BY 1;
-- and setting tokens_earned to what was booked (allowed: it is what the ledger paid) does not
-- hide them: the contribution was paid more than any status of it earns
UPDATE arxos.contributions SET tokens_earned = arxos.contribution_booked(id, contributor_id)
 WHERE data_hash = pg_temp.h('erin-plan');
SELECT problem, regexp_replace(regexp_replace(detail, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g'),
                               '\d+\.\d+', '<n>', 'g') AS detail
  FROM arxos.ledger_check() ORDER BY 1;
ROLLBACK;
-- a reward to someone else than the contribution's contributor, and a verifier's pay to someone
-- who did not verify it or beyond verifier_reward(), are found too
BEGIN;
WITH t AS (INSERT INTO arxos.ledger_transactions (kind, building_id, contribution_id)
           VALUES ('reward', arxos.building_id('mkt2'), (SELECT id FROM k WHERE data_hash = pg_temp.h('erin-plan'))) RETURNING id)
INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
SELECT t.id, arxos.account(arxos.building_id('mkt2'), x.who), x.amount
  FROM t, (VALUES (NULL::uuid, -2::numeric), (arxos.contributor_id('alice'), 2)) x(who, amount);
WITH t AS (INSERT INTO arxos.ledger_transactions (kind, building_id, contribution_id)
           VALUES ('verifier_reward', arxos.building_id('mkt2'), (SELECT id FROM k WHERE data_hash = pg_temp.h('erin-plan'))) RETURNING id)
INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
SELECT t.id, arxos.account(arxos.building_id('mkt2'), x.who), x.amount
  FROM t, (VALUES (NULL::uuid, -500::numeric), (arxos.contributor_id('alice'), 500)) x(who, amount);
SELECT problem FROM arxos.ledger_check() ORDER BY 1;
ROLLBACK;
-- a plain UPDATE of a status keeps the rating's V30 equal to the oracle
BEGIN;
UPDATE arxos.contributions SET status = 'rejected' WHERE data_hash = pg_temp.h('carol-photo_documentation');
SELECT (SELECT verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt'))) AS counters,
       (SELECT verified_30d FROM arxos.rating_inputs_scan(arxos.building_id('mkt'))) AS oracle;
ROLLBACK;
-- a building with contributions keeps its ledger
SELECT regress.try($$DELETE FROM arxos.buildings WHERE key = 'mkt2'$$);
SELECT (SELECT row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text FROM arxos.rating('mkt')) =
       (SELECT row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text FROM arxos.recompute_rating('mkt')) AS rating_equals_oracle;
SELECT jsonb_pretty(arxos.contributor(arxos.contributor_id('alice')) - 'id' - 'joined_at' - 'last_active_at' - 'badges') AS alice;

-- cycling a status cannot pump reputation: a rejection clamped at 0 is remembered
-- (reputation_applied), so peer → rejected → peer → rejected → peer ends where one peer
-- verification from pending would, the delta of the status the contribution has now
-- (frank belongs to another owner than bob, his verifier: see the same-owner rule below)
SELECT set_config('arxos.actor', 'frank-owner', false) IS NOT NULL AS as_frank_owner;
SELECT arxos.register_contributor('frank', 'Frank') IS NOT NULL AS frank;
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('frank'), 'object_documentation',
       pg_temp.h('frank-1'), '{"notes": "cycled"}', '/f1/r1');
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT verifications_given AS bob_given FROM arxos.contributors WHERE handle = 'bob' \gset
SELECT count(*) AS flips FROM (
    SELECT (SELECT new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('frank-1')),
                                                             arxos.contributor_id('bob'), s)) FROM unnest(ARRAY['peer_verified', 'rejected', 'peer_verified', 'rejected', 'peer_verified']) WITH ORDINALITY u(s, i) ORDER BY i) x;
SELECT p.reputation, k.reputation_applied, p.reputation = arxos.reputation_delta('peer_verified', k.quality::double precision)::numeric(10, 6) AS equals_one_delta
  FROM arxos.contributors p JOIN arxos.contributions k ON k.contributor_id = p.id WHERE p.handle = 'frank';
-- and the five status changes count as one contribution verified (the verifier badge counts
-- contributions, not flips)
SELECT verifications_given - :bob_given AS bob_counted FROM arxos.contributors WHERE handle = 'bob';
-- a verifier of the same owner moves the tokens but not the reputation: an owner's identities
-- cannot make each other trusted (hank and bob were both registered by this session's actor)
SELECT arxos.register_contributor('hank', 'Hank') IS NOT NULL AS hank;
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('hank'), 'object_documentation',
       pg_temp.h('hank-1'), '{"notes": "same owner"}', '/f1/r1');
SELECT arxos.verified_in_window(arxos.building_id('mkt'), now()) AS v30_before \gset
SELECT new_status, tokens_delta > 0 AS paid_more FROM arxos.verify_contribution(
       (SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('hank-1')), arxos.contributor_id('bob'), 'peer_verified');
SELECT p.reputation = arxos.reputation_delta('pending', k.quality::double precision)::numeric(10, 6) AS pending_reputation_only,
       p.trust_level
  FROM arxos.contributors p JOIN arxos.contributions k ON k.contributor_id = p.id WHERE p.handle = 'hank';
-- nor the rating: V30 does not count it (an owner cannot verify its own work into a grade),
-- in the totals as in the oracle
SELECT k.verified_at IS NOT NULL AS verified, k.verified_by_same_owner,
       arxos.verified_in_window(arxos.building_id('mkt'), now()) - :v30_before AS v30_moved,
       (SELECT i.verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt')) i)
           = arxos.verified_in_window(arxos.building_id('mkt'), now()) AS totals_agree
  FROM arxos.contributions k WHERE k.data_hash = pg_temp.h('hank-1');
-- a DBA who clears the mark makes it count, and the totals follow
UPDATE arxos.contributions SET verified_by_same_owner = false WHERE data_hash = pg_temp.h('hank-1');
SELECT arxos.verified_in_window(arxos.building_id('mkt'), now()) - :v30_before AS v30_moved,
       (SELECT i.verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt')) i)
           = arxos.verified_in_window(arxos.building_id('mkt'), now()) AS totals_agree;
UPDATE arxos.contributions SET verified_by_same_owner = true WHERE data_hash = pg_temp.h('hank-1');
SELECT arxos.verified_in_window(arxos.building_id('mkt'), now()) - :v30_before AS v30_moved,
       (SELECT i.verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt')) i)
           = arxos.verified_in_window(arxos.building_id('mkt'), now()) AS totals_agree;
-- a verifier judges by its standing: its reputation less what its work that no trusted
-- contributor of another owner has judged gave it. ivy is trusted by reputation (1 from her
-- pending contribution, 299.4 granted), but stands at 299.4
SELECT set_config('arxos.actor', 'ivy-owner', false) IS NOT NULL AS as_ivy_owner;
SELECT arxos.register_contributor('ivy', 'Ivy') IS NOT NULL AS ivy, arxos.register_contributor('ivy2', 'Ivy 2') IS NOT NULL AS ivy2;
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('ivy'), 'object_documentation',
       pg_temp.h('ivy-1'), '{"notes": "n", "manufacturer": "m", "model": "x", "serial_number": "s"}', '/f1/r1');
UPDATE arxos.contributors SET reputation = reputation + 299.4 WHERE handle = 'ivy';
UPDATE arxos.contributors SET reputation = 650 WHERE handle = 'ivy2';
SELECT reputation, trust_level, arxos.verifier_standing(p) AS standing FROM arxos.contributors p WHERE handle = 'ivy';
SELECT regress.try($$SELECT arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('hank-1')),
                                                      arxos.contributor_id('ivy'), 'rejected')$$);
-- auto_verified needs no trust: from another owner it does not count either
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1')),
                                                 arxos.contributor_id('erin'), 'auto_verified');
SELECT arxos.verifier_standing(p) AS standing FROM arxos.contributors p WHERE handle = 'ivy';
-- a trusted identity of her own owner peer-verifying it does not count
SELECT set_config('arxos.actor', 'ivy-owner', false) IS NOT NULL AS as_ivy_owner;
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1')),
                                                 arxos.contributor_id('ivy2'), 'peer_verified');
SELECT reputation, arxos.verifier_standing(p) AS standing FROM arxos.contributors p WHERE handle = 'ivy';
-- nor in the rating's V30, until a verifier of another owner sets the same status again (no
-- tokens move; the status's trust is needed)
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT verified_by_same_owner AS marked FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1');
SELECT new_status, tokens_delta FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1')),
                                                               arxos.contributor_id('erin'), 'peer_verified');
SELECT verified_by_same_owner AS marked, (SELECT handle FROM arxos.contributors WHERE id = verifier_id) AS verifier,
       (SELECT i.verified_30d FROM arxos.rating_inputs(arxos.building_id('mkt')) i)
           = arxos.verified_in_window(arxos.building_id('mkt'), now()) AS totals_agree
  FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1');
SELECT set_config('arxos.actor', 'ivy-owner', false) IS NOT NULL AS as_ivy_owner;
-- nor does it start to once that identity is forgotten (its owner is rewritten then)
SELECT arxos.forget_contributor(arxos.contributor_id('ivy2')) IS NOT NULL AS ivy2_forgotten;
SELECT arxos.verifier_standing(p) AS standing FROM arxos.contributors p WHERE handle = 'ivy';
-- nor a status set by a plain UPDATE (nobody judged it; rolled back: it booked nothing, which
-- ledger_check reports)
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('ivy'), 'object_documentation',
       pg_temp.h('ivy-2'), '{"notes": "n", "manufacturer": "m", "model": "x", "serial_number": "s"}', '/f1/r1');
BEGIN;
UPDATE arxos.contributions SET status = 'peer_verified' WHERE data_hash = pg_temp.h('ivy-2');
SELECT reputation - arxos.verifier_standing(p) AS not_counted FROM arxos.contributors p WHERE handle = 'ivy';
ROLLBACK;
-- a trusted contributor of another owner judging it does
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1')),
                                                 arxos.contributor_id('erin'), 'expert_verified');
SELECT reputation, arxos.verifier_standing(p) AS standing FROM arxos.contributors p WHERE handle = 'ivy';
-- a plain UPDATE back to pending (or to auto_verified) clears the judgement
BEGIN;
UPDATE arxos.contributions SET status = 'pending' WHERE data_hash = pg_temp.h('ivy-1');
SELECT judged_across_owners FROM arxos.contributions WHERE data_hash = pg_temp.h('ivy-1');
ROLLBACK;
SELECT set_config('arxos.actor', 'ivy-owner', false) IS NOT NULL AS as_ivy_owner;
SELECT old_status, new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('hank-1')),
                                                             arxos.contributor_id('ivy'), 'rejected');
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
-- the standing counts all of the verifier's work, whatever a scoped request may see
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT set_config('arxos.building_ids', (SELECT id::text FROM arxos.buildings WHERE key = 'mkt2'), true) IS NOT NULL AS scoped;
SELECT count(*) AS ivy_work_visible FROM arxos.contributions WHERE contributor_id = arxos.contributor_id('ivy');
SELECT arxos.verifier_standing(p) = 309.4 AS same_standing FROM arxos.contributors p WHERE handle = 'ivy';
ROLLBACK;

-------------------------------------------------------------------------------------------------
-- Plain SQL cannot pay twice or skew the counters
-------------------------------------------------------------------------------------------------
-- a status changed by a plain UPDATE moves the contributor's counters as verify_contribution
-- does, and a verification from there goes through
SELECT verified_contributions AS verified, rejected_contributions AS rejected FROM arxos.contributors WHERE handle = 'frank';
BEGIN;
UPDATE arxos.contributions SET status = 'rejected' WHERE data_hash = pg_temp.h('frank-1');
SELECT verified_contributions AS verified, rejected_contributions AS rejected FROM arxos.contributors WHERE handle = 'frank';
SELECT new_status FROM arxos.verify_contribution((SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('frank-1')),
                                                 arxos.contributor_id('bob'), 'peer_verified');
SELECT verified_contributions AS verified, rejected_contributions AS rejected FROM arxos.contributors WHERE handle = 'frank';
ROLLBACK;
-- the verifier is paid once per contribution as the ledger shows, even with its verifications
-- deleted
BEGIN;
DELETE FROM arxos.verifications WHERE contribution_id = (SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('frank-1'));
SELECT s AS status, (SELECT verifier_reward FROM arxos.verify_contribution(
           (SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('frank-1')), arxos.contributor_id('bob'), s)) AS verifier_paid
  FROM unnest(ARRAY['rejected', 'peer_verified']) WITH ORDINALITY u(s, i) ORDER BY i;
ROLLBACK;
-- tokens_earned is what the ledger booked (AX023 otherwise), or the next verification would pay
-- the difference again
SELECT regress.try($$UPDATE arxos.contributions SET tokens_earned = 0 WHERE data_hash = pg_temp.h('frank-1')$$);
SELECT regress.try($$UPDATE arxos.contributions SET tokens_earned = tokens_earned, status = status WHERE data_hash = pg_temp.h('frank-1')$$);
SELECT regress.try($$INSERT INTO arxos.contributions (building_id, contributor_id, type, data_hash, quality, trust_level,
                                                      old_grade, new_grade, old_score, new_score, tokens_earned)
    SELECT building_id, contributor_id, type, pg_temp.h('forged'), quality, trust_level, old_grade, new_grade,
           old_score, new_score, 5 FROM arxos.contributions WHERE data_hash = pg_temp.h('frank-1')$$);
-- objects_documented counts distinct paths: writing the same object again adds nothing
SELECT objects_documented FROM arxos.contributors WHERE handle = 'frank';
SELECT set_config('arxos.actor', 'frank-owner', false) IS NOT NULL AS as_frank_owner;
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('frank'), 'object_documentation', pg_temp.h('frank-2'),
       '{"notes": "a shelf"}', '/f1/shelf', '{"puts": [{"path": "/f1/shelf", "type": "shelf"}]}');
SELECT status FROM arxos.contribute('mkt', arxos.contributor_id('frank'), 'object_documentation', pg_temp.h('frank-3'),
       '{"notes": "the shelf again"}', '/f1/shelf', '{"puts": [{"path": "//f1/shelf/", "type": "shelf"}, {"path": "/f1/shelf/box", "type": "box"}]}');
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT objects_documented, (SELECT count(*) FROM arxos.documented_objects d WHERE d.contributor_id = c.id) AS rows
  FROM arxos.contributors c WHERE handle = 'frank';
-- forgetting a contributor replaces its owner's name on the ledger transactions that paid it
SELECT set_config('arxos.actor', 'frank-owner', false) IS NOT NULL AS as_frank_owner;
SELECT arxos.register_contributor('gina', 'Gina') AS gina \gset
SELECT status FROM arxos.contribute('mkt', :'gina', 'floor_plan_upload', pg_temp.h('gina-1'), '{"floor": 3}');
-- a transfer gina received from frank, another identity of the same owner, keeps its actor
SELECT arxos.transfer(arxos.contributor_id('frank'), :'gina', 1, 'for gina') AS frank_to_gina \gset
-- the actor may become only the pseudonym of a forgotten contributor the transaction paid
SELECT regress.try(format($$UPDATE arxos.ledger_transactions SET actor = 'anon-' || replace(%L, '-', '') WHERE id = %s$$,
                          arxos.contributor_id('frank'), :frank_to_gina));
SELECT regress.try(format($$UPDATE arxos.ledger_transactions SET actor = 'anon-' || replace(%L, '-', '') WHERE id = %s$$,
                          :'gina', :frank_to_gina));
SELECT arxos.forget_contributor(:'gina') IS NOT NULL AS forgotten;
SELECT set_config('arxos.actor', '', false) IS NOT NULL AS back;
SELECT t.kind, t.actor = 'frank-owner' AS owner_named
  FROM arxos.ledger_transactions t WHERE t.contribution_id = (SELECT id FROM arxos.contributions WHERE data_hash = pg_temp.h('gina-1'));
SELECT t.kind, t.actor = 'frank-owner' AS sender_named, t.memo AS memo_kept
  FROM arxos.ledger_transactions t WHERE t.id = :frank_to_gina;
SELECT count(*) AS violations FROM arxos.ledger_check();
-- The impact bonus pays for new highs only: stripping an object and documenting it again (in
-- contributions or by plain writes in between) does not pay the same points twice; each raise
-- after the first is paid only for what passes the last high (here: the activity the cycle
-- itself added, under a point, where the whole 11-point gain was paid every time before).
BEGIN;
SELECT arxos.create_building('pump', 'Pump') IS NOT NULL AS created;
SELECT arxos.register_contributor('pumper', 'Pumper') IS NOT NULL AS registered;
SELECT count(*) FROM (SELECT arxos.put('pump', '/hvac/' || n, 'thing', parents => true) FROM unnest(ARRAY['a', 'b', 't99']) n) x;
CREATE FUNCTION pg_temp.pump(word text, full_object boolean) RETURNS arxos.contributions LANGUAGE plpgsql AS $$
DECLARE
    r arxos.contributions;
BEGIN
    PERFORM arxos.contribute('pump', arxos.contributor_id('pumper'), 'property_enrichment', pg_temp.h(word),
                             '{"source": "survey"}', '/hvac/t99',
                             CASE WHEN full_object
                                  THEN '{"puts": [{"path": "/hvac/t99", "type": "sensor", "properties": {"unit": "C"}, "status": "active", "location": {"x": 1, "y": 2}}]}'
                                  ELSE '{"puts": [{"path": "/hvac/t99", "type": "thing", "properties": {}, "status": "unknown"}]}' END::jsonb);
    SELECT * INTO r FROM arxos.contributions c WHERE c.data_hash = pg_temp.h(word);
    RETURN r;
END
$$;
SELECT step, c.old_score, c.new_score, c.bonus_gain, c.new_score > c.old_score AS raised, c.bonus_gain > 0 AS bonus,
       c.bonus_gain = c.new_score - c.old_score AS whole_gain_paid
  FROM (VALUES (1, 'pump-up-1', true), (2, 'pump-down-1', false), (3, 'pump-up-2', true),
               (4, 'pump-down-2', false), (5, 'pump-up-3', true)) v(step, word, full_object),
       LATERAL pg_temp.pump(v.word, v.full_object) c
 ORDER BY step;
-- a plain write that lowers the score, then a contribution that restores it: the same
UPDATE arxos.objects SET status = 'unknown', properties = '{}' WHERE building_id = arxos.building_id('pump') AND path = '/hvac/t99';
SELECT c.new_score > c.old_score AS raised, c.bonus_gain AS bonus_gain FROM pg_temp.pump('pump-up-4', true) c;
-- a rejected contribution whose tokens were clawed back sets no mark: once the pump's
-- contributions are rejected (the pumper still holds what they paid), the next raise is paid in
-- full again
SELECT arxos.register_contributor('pumpjudge', 'Pump judge') IS NOT NULL AS registered;
UPDATE arxos.contributors SET reputation = 650 WHERE handle = 'pumpjudge';
SELECT count(*) AS rejected
  FROM (SELECT arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'rejected')
          FROM arxos.contributions c WHERE c.building_id = arxos.building_id('pump') ORDER BY c.created_at) x;
SELECT count(*) FILTER (WHERE tokens_earned = 0) AS clawed_back_in_full, count(*) AS contributions
  FROM arxos.contributions WHERE building_id = arxos.building_id('pump');
UPDATE arxos.objects SET status = 'unknown', properties = '{}', x = NULL, y = NULL, z = NULL, floor = NULL
 WHERE building_id = arxos.building_id('pump') AND path = '/hvac/t99';
SELECT c.bonus_gain = c.new_score - greatest(c.old_score,
           (SELECT max(x.old_score) FROM arxos.contributions x WHERE x.building_id = c.building_id AND x.status <> 'rejected' AND x.id <> c.id)) AS paid_above_the_rest,
       c.bonus_gain > 10 AS full_raise
  FROM pg_temp.pump('pump-up-5', true) c;
-- one rejected after its contributor moved the tokens away keeps its mark (the claw-back
-- recovered nothing): contribute, transfer, reject, delete, contribute again pays the climb
-- once, not every cycle (found by a review: about 2,900 tokens a cycle)
SELECT arxos.transfer(arxos.contributor_id('pumper'), arxos.contributor_id('pumpjudge'),
                      arxos.balance(arxos.contributor_id('pumper'), 'pump'), 'moved away', 'pump') IS NOT NULL AS moved;
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'rejected')).new_status
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('pump-up-5');
SELECT tokens_earned > 10 AS kept_after_rejection FROM arxos.contributions WHERE data_hash = pg_temp.h('pump-up-5');
UPDATE arxos.objects SET status = 'unknown', properties = '{}', x = NULL, y = NULL, z = NULL, floor = NULL
 WHERE building_id = arxos.building_id('pump') AND path = '/hvac/t99';
SELECT c.new_score - c.old_score > 10 AS climbed_again, c.bonus_gain < 1 AS climb_not_paid_again
  FROM pg_temp.pump('pump-up-6', true) c;
SELECT count(*) AS violations FROM arxos.ledger_check();
-- Undoing a rejection that clawed back every token pays only the points still above the mark:
-- while rejected it set none, and another contribution may have been paid for the same climb
-- (found by an audit: reject, delete the objects, contribute them again, reinstate paid the
-- climb again every cycle). Nobody climbed meanwhile: the whole gain is paid again.
SELECT arxos.create_building('reinst', 'Reinstated') IS NOT NULL AS created;
CREATE FUNCTION pg_temp.document(word text, building text DEFAULT 'reinst') RETURNS arxos.contributions LANGUAGE plpgsql AS $$
DECLARE
    r arxos.contributions;
BEGIN
    PERFORM arxos.contribute(building, arxos.contributor_id('pumper'), 'bim_model_update', pg_temp.h(word),
                             '{"model_version": "1"}', NULL,
                             (SELECT jsonb_build_object('puts', jsonb_agg(jsonb_build_object('path', '/s' || n, 'type', 'sensor',
                                          'properties', '{"unit": "C"}'::jsonb, 'location', '{"x": 1, "y": 2}'::jsonb)))
                                FROM generate_series(1, 5) n));
    SELECT * INTO r FROM arxos.contributions c WHERE c.data_hash = pg_temp.h(word);
    RETURN r;
END
$$;
SELECT bonus_gain > 10 AS climbed FROM pg_temp.document('reinst-a');
SELECT bonus_gain AS a_gain FROM arxos.contributions WHERE data_hash = pg_temp.h('reinst-a') \gset
CREATE FUNCTION pg_temp.judge(word text, status text) RETURNS numeric LANGUAGE sql AS $$
    SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), $2)).tokens_delta
      FROM arxos.contributions c WHERE c.data_hash = pg_temp.h(word)
$$;
SELECT pg_temp.judge('reinst-a', 'rejected') < 0 AS clawed_back;
SELECT pg_temp.judge('reinst-a', 'peer_verified') > 0 AS reinstated;
SELECT bonus_gain = :a_gain AND tokens_earned = reward AS whole_gain_kept
  FROM arxos.contributions WHERE data_hash = pg_temp.h('reinst-a');
-- rejected again, the objects deleted and documented again by another contribution (paid in
-- full: the rejected one sets no mark), then reinstated: the climb was paid, its bonus is gone
SELECT pg_temp.judge('reinst-a', 'rejected') < 0 AS clawed_back_again;
SELECT tokens_earned AS a_tokens FROM arxos.contributions WHERE data_hash = pg_temp.h('reinst-a');
SELECT count(*) AS removed FROM (SELECT arxos.rm('reinst', '/s' || n) FROM generate_series(1, 5) n) x;
SELECT bonus_gain > 10 AS b_paid_in_full FROM pg_temp.document('reinst-b');
SELECT pg_temp.judge('reinst-a', 'peer_verified') AS a_paid_again;
-- (all or nothing: another holds a bonus for part of its climb, so no bonus, its base reward)
SELECT bonus_gain = 0 AS climb_not_paid_again, tokens_earned = reward AS booked,
       reward = arxos.contribution_reward('bim_model_update', quality::float8, 'peer_verified', trust_level, 0, new_grade)::numeric(20, 6) AS base_reward_only
  FROM arxos.contributions a WHERE data_hash = pg_temp.h('reinst-a');
-- rejected and reinstated once more, nothing changes (its bonus stays 0: it holds tokens now,
-- and is paid again only its base)
SELECT pg_temp.judge('reinst-a', 'rejected') < 0 AS clawed_back_once_more;
SELECT pg_temp.judge('reinst-a', 'peer_verified') AS base_again;
-- bonus_gain goes down only there: a plain UPDATE of it is refused
SELECT regress.try($$UPDATE arxos.contributions SET bonus_gain = 0 WHERE data_hash = pg_temp.h('reinst-b')$$) AS plain_lowering;
SELECT count(*) AS violations FROM arxos.ledger_check();
-- A status set by a plain UPDATE books nothing: ledger_check says so, and the verification that
-- confirms it books the difference and pays its verifier (found by an audit: it was a no-op)
UPDATE arxos.contributions SET status = 'expert_verified' WHERE data_hash = pg_temp.h('reinst-b');
SELECT problem, detail LIKE '%status expert_verified rewards%set without verify_contribution%' AS says_why FROM arxos.ledger_check();
SELECT v.tokens_delta > 0 AS booked, v.verifier_reward > 0 AS verifier_paid, v.old_status, v.new_status
  FROM arxos.contributions c, arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'expert_verified') v
 WHERE c.data_hash = pg_temp.h('reinst-b');
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'expert_verified')).tokens_delta AS again_nothing
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst-b');
SELECT count(*) AS violations FROM arxos.ledger_check();
-- A status a DBA sets on a contribution that holds none of its tokens (rejected, clawed back),
-- confirmed by verify_contribution, pays only the points nobody holding tokens was paid for
-- (found by a review: it paid the whole recorded bonus, after another was paid the climb)
SELECT arxos.create_building('reinst2', 'Reinstated by hand') IS NOT NULL AS created;
SELECT bonus_gain > 10 AS x_paid FROM pg_temp.document('reinst2-x', 'reinst2');
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'rejected')).tokens_delta < 0 AS x_clawed_back
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst2-x');
SELECT count(*) AS removed FROM (SELECT arxos.rm('reinst2', '/s' || n) FROM generate_series(1, 5) n) x;
SELECT bonus_gain > 10 AS y_paid_in_full FROM pg_temp.document('reinst2-y', 'reinst2');
UPDATE arxos.contributions SET status = 'peer_verified' WHERE data_hash = pg_temp.h('reinst2-x');
SELECT problem FROM arxos.ledger_check();
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'peer_verified')).tokens_delta > 0 AS booked
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst2-x');
SELECT x.bonus_gain < 10 AS x_climb_not_paid_again, x.tokens_earned = x.reward AS booked_in_full
  FROM arxos.contributions x WHERE x.data_hash = pg_temp.h('reinst2-x');
SELECT count(*) AS violations FROM arxos.ledger_check();
-- a step down whose claw-back the balance capped is booked as far as it could be: not reported
-- (found by a review: unbooked_status reported peer -> auto after the tokens were moved away)
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'peer_verified')).new_status
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst2-y');
SELECT arxos.transfer(arxos.contributor_id('pumper'), arxos.contributor_id('pumpjudge'),
                      arxos.balance(arxos.contributor_id('pumper'), 'reinst2'), 'moved away', 'reinst2') IS NOT NULL AS moved;
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'auto_verified')).tokens_delta AS capped_to_nothing
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst2-y');
SELECT count(*) AS violations FROM arxos.ledger_check();
-- a status lowered by a plain UPDATE is reported too (no verification set it), and the
-- verification confirming it claws the difference back (found by an audit: only raised ones
-- were reported); pending, which verify_contribution cannot set, says how to undo it
UPDATE arxos.contributions SET status = 'auto_verified' WHERE data_hash = pg_temp.h('reinst-b');
SELECT problem, detail LIKE '%status auto_verified rewards%set without verify_contribution, which books the difference%' AS says_why
  FROM arxos.ledger_check();
SELECT (arxos.verify_contribution(c.id, arxos.contributor_id('pumpjudge'), 'auto_verified')).tokens_delta < 0 AS clawed_back
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('reinst-b');
SELECT count(*) AS violations FROM arxos.ledger_check();
UPDATE arxos.contributions SET status = 'pending' WHERE data_hash = pg_temp.h('reinst-b');
SELECT problem, detail LIKE '%cannot set pending: set the status it had back%' AS says_how FROM arxos.ledger_check();
UPDATE arxos.contributions SET status = 'auto_verified' WHERE data_hash = pg_temp.h('reinst-b');
SELECT count(*) AS violations FROM arxos.ledger_check();
-- lowered by hand while the contributor holds none of the building's tokens: the ledger is as a
-- capped step-down leaves it, nothing to book, not reported (found by a review: reported for
-- ever, the confirming verification booking nothing)
SAVEPOINT none_held;
SELECT arxos.transfer(arxos.contributor_id('pumper'), arxos.contributor_id('pumpjudge'),
                      arxos.balance(arxos.contributor_id('pumper'), 'reinst'), 'all away', 'reinst') IS NOT NULL AS moved;
UPDATE arxos.contributions SET status = 'rejected' WHERE data_hash = pg_temp.h('reinst-b');
SELECT count(*) AS violations FROM arxos.ledger_check();
ROLLBACK TO SAVEPOINT none_held;
-- a connection that exists already is malformed input (AX010), not a race to retry
SELECT regress.try($$SELECT arxos.contribute('pump', arxos.contributor_id('pumper'), 'object_documentation',
       pg_temp.h('dup-conn'), '{"notes": "twice"}', '/hvac/a',
       '{"connections": [{"from": "/hvac/a", "to": "/hvac/b", "kind": "power"}, {"from": "/hvac/a", "to": "/hvac/b", "kind": "power"}]}')$$) AS duplicate_connection;
-- and the verification's reward is computed from the same bonus_gain
SELECT arxos.contribution_reward_for(c, 'auto_verified') = arxos.contribution_reward('property_enrichment',
           c.quality::float8, 'auto_verified', c.trust_level, c.bonus_gain::float8, c.new_grade)::numeric(20, 6) AS reward_from_bonus_gain
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('pump-up-1');
ROLLBACK;
-- The rating history sets the mark too: a building documented by plain writes, wiped and
-- documented again by a contribution, had that score before; the contribution is paid for
-- what passes the history's high, not for the whole climb (found by a review). The plain
-- writes commit (the history records committed transactions only); the contribution is rolled
-- back, so the building has no tokens and can go
SELECT arxos.create_building('wipe', 'Wipe') IS NOT NULL AS created;
SELECT count(*) FROM (SELECT arxos.put('wipe', '/s' || n, 'sensor', properties => '{"unit": "C"}', location => '{"x": 1, "y": 2}')
                        FROM generate_series(1, 5) n) x;
SELECT arxos.sequence_events() >= 0 AS folded;
SELECT max(new_score) AS documented_high FROM arxos.rating_history WHERE building_id = arxos.building_id('wipe') \gset
SELECT count(*) FROM (SELECT arxos.rm('wipe', '/s' || n) FROM generate_series(1, 5) n) x;
SELECT arxos.sequence_events() >= 0 AS folded;
BEGIN;
SELECT arxos.register_contributor('wiper', 'Wiper') IS NOT NULL AS registered;
SELECT status FROM arxos.contribute('wipe', arxos.contributor_id('wiper'), 'bim_model_update', pg_temp.h('wipe-1'),
       '{"model_version": "2"}', NULL,
       (SELECT jsonb_build_object('puts', jsonb_agg(jsonb_build_object('path', '/s' || n, 'type', 'sensor',
                    'properties', '{"unit": "C"}'::jsonb, 'location', '{"x": 1, "y": 2}'::jsonb)))
          FROM generate_series(1, 5) n));
SELECT c.new_score - c.old_score > 10 AS climbed, c.bonus_gain = greatest(0, c.new_score - greatest(c.old_score, :documented_high)) AS above_history_high,
       c.new_score - c.old_score - c.bonus_gain > 60 AS climb_not_paid
  FROM arxos.contributions c WHERE c.data_hash = pg_temp.h('wipe-1');
ROLLBACK;
DELETE FROM arxos.buildings WHERE key = 'wipe';
-- BI reads the market live (schema arxos_bi, docs/bi.md): contributors, contributions,
-- holdings and the ledger's entries, without free text or actors
SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema = 'arxos_bi' AND table_name IN ('contributors', 'contributions', 'holdings', 'ledger')
 GROUP BY table_name ORDER BY table_name;
SET ROLE arxos_reader;
-- every transaction's entries sum to zero per building, and every balance is its entries' sum
SELECT count(*) AS unbalanced FROM (SELECT transaction_id, building_id FROM arxos_bi.ledger
                                     GROUP BY 1, 2 HAVING sum(amount) <> 0) t;
SELECT bool_and(h.balance = coalesce((SELECT sum(l.amount) FROM arxos_bi.ledger l
                                       WHERE l.building_id = h.building_id AND l.contributor_id = h.contributor_id), 0)) AS balances_agree,
       count(*) > 0 AS holdings
  FROM arxos_bi.holdings h;
-- the mint's entries have no contributor; a forgotten contributor shows its pseudonym
SELECT count(*) FILTER (WHERE contributor IS NULL) > 0 AS minted, count(*) > 0 AS entries FROM arxos_bi.ledger;
SELECT bool_and(handle LIKE 'anon-%') AS pseudonyms FROM arxos_bi.contributors WHERE forgotten;
RESET ROLE;
SELECT (SELECT count(*) FROM arxos_bi.contributions) = (SELECT count(*) FROM arxos.contributions) AS every_contribution,
       (SELECT count(*) FROM arxos_bi.ledger) = (SELECT count(*) FROM arxos.ledger_entries) AS every_entry,
       (SELECT count(*) FROM arxos_bi.contributors) = (SELECT count(*) FROM arxos.contributors) AS every_contributor;
-- A status whose claw-back the balance capped, asked again, takes what the author holds now:
-- a catch-up that verifies nothing (no verifier reward, no verification counted, the
-- contribution's verifier kept; found by a market review: it paid 3 tokens and a count). A
-- status a DBA lowered by hand is still confirmed by a real verification.
BEGIN;
SELECT arxos.create_building('catch', 'Catch-up') IS NOT NULL AS created;
SELECT set_config('arxos.actor', 'own-a', true) IS NOT NULL AS as_a;
SELECT arxos.register_contributor('catch-author', 'Author') IS NOT NULL AS registered;
SELECT set_config('arxos.actor', 'own-b', true) IS NOT NULL AS as_b;
SELECT arxos.register_contributor('catch-expert', 'Expert') IS NOT NULL AS registered,
       arxos.register_contributor('catch-peer', 'Peer') IS NOT NULL AS registered;
UPDATE arxos.contributors SET reputation = 650 WHERE handle = 'catch-expert';
UPDATE arxos.contributors SET reputation = 350 WHERE handle = 'catch-peer';
SELECT set_config('arxos.actor', 'own-a', true) IS NOT NULL AS as_a;
SELECT tokens_earned > 0 AS paid FROM arxos.contribute('catch', arxos.contributor_id('catch-author'), 'bim_model_update', pg_temp.h('catch-1'),
       '{"model_version": "1"}', NULL,
       (SELECT jsonb_build_object('puts', jsonb_agg(jsonb_build_object('path', '/s' || n, 'type', 'sensor',
                    'properties', '{"unit": "C"}'::jsonb))) FROM generate_series(1, 3) n));
SELECT id AS cid FROM arxos.contributions WHERE data_hash = pg_temp.h('catch-1') \gset
SELECT set_config('arxos.actor', 'own-b', true) IS NOT NULL AS as_b;
SELECT new_status, tokens_delta > 0 AS paid, verifier_reward FROM arxos.verify_contribution(:'cid', arxos.contributor_id('catch-expert'), 'expert_verified');
SELECT set_config('arxos.actor', 'own-a', true) IS NOT NULL AS as_a;
SELECT arxos.transfer(arxos.contributor_id('catch-author'), arxos.contributor_id('catch-peer'),
                      arxos.balance(arxos.contributor_id('catch-author'), 'catch'), 'away', 'catch') IS NOT NULL AS moved_away;
SELECT set_config('arxos.actor', 'own-b', true) IS NOT NULL AS as_b;
SELECT new_status, tokens_delta AS capped_to_nothing FROM arxos.verify_contribution(:'cid', arxos.contributor_id('catch-expert'), 'peer_verified');
SELECT arxos.transfer(arxos.contributor_id('catch-peer'), arxos.contributor_id('catch-author'), 5, 'back', 'catch') IS NOT NULL AS five_back;
SELECT verifications_given AS peer_given_before FROM arxos.contributors WHERE handle = 'catch-peer';
SELECT old_status, new_status, tokens_delta, verifier_reward, verifier_transaction_id IS NULL AS verifier_unpaid
  FROM arxos.verify_contribution(:'cid', arxos.contributor_id('catch-peer'), 'peer_verified');
SELECT verifications_given AS peer_given_after FROM arxos.contributors WHERE handle = 'catch-peer';
SELECT verifier_id = arxos.contributor_id('catch-expert') AS verifier_kept, judged_across_owners FROM arxos.contributions WHERE id = :'cid';
SELECT set_config('arxos.actor', '', true) IS NOT NULL AS back;
SELECT count(*) AS violations FROM arxos.ledger_check();
SELECT set_config('arxos.actor', 'own-b', true) IS NOT NULL AS as_b;
-- a status a DBA lowered by hand is confirmed by the verification that asks for it: a real one
UPDATE arxos.contributions SET status = 'auto_verified' WHERE id = :'cid';
SELECT arxos.transfer(arxos.contributor_id('catch-peer'), arxos.contributor_id('catch-author'), 50, 'back', 'catch') IS NOT NULL AS fifty_back;
SELECT old_status, new_status, tokens_delta < 0 AS clawed, verifier_reward
  FROM arxos.verify_contribution(:'cid', arxos.contributor_id('catch-peer'), 'auto_verified');
SELECT verifier_id = arxos.contributor_id('catch-peer') AS verifier_now_peer FROM arxos.contributions WHERE id = :'cid';
-- (the catch-up left no verifications row: this real one counts)
SELECT verifications_given AS peer_given_for_the_real_one FROM arxos.contributors WHERE handle = 'catch-peer';
SELECT count(*) AS rows_of_peer FROM arxos.verifications WHERE contribution_id = :'cid' AND verifier_id = arxos.contributor_id('catch-peer');
ROLLBACK;
-- first_reward is set by the first booking, to the pending reward: not by an INSERT, not by hand
BEGIN;
SELECT arxos.create_building('forged', 'Forged') IS NOT NULL AS created;
SELECT arxos.register_contributor('forger', 'Forger') IS NOT NULL AS registered;
SELECT regress.try(format($$INSERT INTO arxos.contributions (building_id, contributor_id, type, data_hash, quality, trust_level,
       old_grade, new_grade, old_score, new_score, first_reward)
VALUES (arxos.building_id('forged'), %L, 'photo_documentation', repeat('d', 64), 0, 'newcomer', '0y', '0y', 5, 5, 5000000)$$,
       arxos.contributor_id('forger'))) AS inserted_with_first_reward;
INSERT INTO arxos.contributions (building_id, contributor_id, type, data_hash, quality, trust_level,
       old_grade, new_grade, old_score, new_score)
VALUES (arxos.building_id('forged'), arxos.contributor_id('forger'), 'photo_documentation', repeat('d', 64), 0, 'newcomer', '0y', '0y', 5, 5)
RETURNING reward AS pending_reward, first_reward;
SELECT arxos.ledger_post('reward', arxos.building_id('forged'), (SELECT id FROM arxos.contributions WHERE data_hash = repeat('d', 64)), 'by hand',
                         ARRAY[arxos.account(arxos.building_id('forged'), NULL), arxos.account(arxos.building_id('forged'), arxos.contributor_id('forger'))],
                         ARRAY[-5000000, 5000000]::numeric[]) AS hand_tx \gset
UPDATE arxos.contributions SET tokens_earned = 5000000 WHERE data_hash = repeat('d', 64);
SELECT regress.try(format($$UPDATE arxos.contributions SET first_reward = 5000000, first_transaction_id = %s WHERE data_hash = repeat('d', 64)$$, :hand_tx)) AS matching_first_reward;
SELECT problem FROM arxos.ledger_check() WHERE detail LIKE '%5000000%';
ROLLBACK;
