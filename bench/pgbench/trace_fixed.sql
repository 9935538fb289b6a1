-- The same trace through bench.trace_fixed (arxos.trace with an index-friendly join).
\set i random(1, :nsources)
SELECT path AS p FROM bench.sources WHERE id = :i \gset
SELECT * FROM bench.trace_fixed(:building, :p, 'downstream', NULL, 10);
