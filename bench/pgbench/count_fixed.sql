-- The same count through bench.tree_fixed (arxos.tree with an index-friendly key condition).
\set i random(1, :ndirs)
SELECT path AS p FROM bench.dirs WHERE id = :i \gset
SELECT count(*) FROM bench.tree_fixed(:building, :p);
