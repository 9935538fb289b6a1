-- Size of a sampled subtree (the object and everything below it) through arxos.tree.
\set i random(1, :ndirs)
SELECT path AS p FROM bench.dirs WHERE id = :i \gset
SELECT count(*) FROM arxos.tree(:building, :p);
