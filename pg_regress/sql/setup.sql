-- Installs the extension and the sample building used by the other tests.
CREATE EXTENSION arxos CASCADE;
SELECT extname, extversion FROM pg_extension WHERE extname = 'arxos';
SELECT arxos.load_sample();
SELECT arxos.load_sample();  -- second call: nothing to do
SELECT count(*) AS objects FROM arxos.objects;
SELECT count(*) AS connections FROM arxos.connections;
