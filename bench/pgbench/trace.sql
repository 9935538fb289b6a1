-- Everything downstream of a sampled connection source, at most 10 hops.
\set i random(1, :nsources)
SELECT path AS p FROM bench.sources WHERE id = :i \gset
SELECT * FROM arxos.trace(:building, :p, 'downstream', NULL, 10);
