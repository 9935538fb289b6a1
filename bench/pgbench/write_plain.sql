-- The same INSERT into bench.plain (no triggers but the foreign keys').
INSERT INTO bench.plain (building_id, path, type, status, properties, x, y, z, floor)
VALUES (:bid, '/network/bench_writes/obj_' || nextval('bench.wseq'), 'sensor', 'active',
        '{"measures": "temperature", "unit": "degC"}', 12.5, 3.25, 1.5, 1);
