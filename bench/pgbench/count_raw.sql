-- The same count as a raw btree range query on arxos.objects (descendants are [lo, hi)).
\set i random(1, :ndirs)
SELECT lo, hi FROM bench.dirs WHERE id = :i \gset
SELECT count(*) + 1 FROM arxos.objects WHERE building_id = :bid AND path >= :lo AND path < :hi;
