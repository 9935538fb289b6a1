-- The same update of bench.plain.
\set i random(1, :nids)
\set h random(0, 100)
UPDATE bench.plain SET health = :h WHERE id = (SELECT id FROM bench.ids WHERE n = :i);
