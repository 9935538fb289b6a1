-- arxos.ls: the children of a sampled object, with their child counts.
\set i random(1, :ndirs)
SELECT path AS p FROM bench.dirs WHERE id = :i \gset
SELECT * FROM arxos.ls(:building, :p);
