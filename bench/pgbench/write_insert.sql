-- A new object by plain INSERT into arxos.objects (every trigger runs).
INSERT INTO arxos.objects (building_id, path, type, status, properties, x, y, z, floor)
VALUES (:bid, '/network/bench_writes/obj_' || nextval('bench.wseq'), 'sensor', 'active',
        '{"measures": "temperature", "unit": "degC"}', 12.5, 3.25, 1.5, 1);
