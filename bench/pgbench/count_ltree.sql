-- The same count from the ltree/GiST layout.
\set i random(1, :ndirs)
SELECT lpath AS lp FROM bench.dirs WHERE id = :i \gset
SELECT count(*) FROM bench.lt WHERE path <@ :lp::ltree;
