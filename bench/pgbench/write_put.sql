-- A new object through arxos.put.
SELECT (arxos.put(:building, '/network/bench_writes/obj_' || nextval('bench.wseq'), 'sensor',
                  '{"measures": "temperature", "unit": "degC"}', 'active', NULL,
                  '{"x": 12.5, "y": 3.25, "z": 1.5, "floor": 1}')).version;
