-- The 10 nearest objects within 5 m of a sampled located object.
\set i random(1, :nlocated)
SELECT path AS p FROM bench.located WHERE id = :i \gset
SELECT * FROM arxos.near(:building, :p, 5.0, 10);
