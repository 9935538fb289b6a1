-- The same rows straight from arxos.objects through its (building_id, parent_path, path) btree.
\set i random(1, :ndirs)
SELECT path AS p FROM bench.dirs WHERE id = :i \gset
SELECT o.name, o.path, o.type, o.status, o.health, o.needs_repair, o.status = 'failed',
       (SELECT count(*) FROM arxos.objects c WHERE c.building_id = o.building_id AND c.parent_path = o.path)
  FROM arxos.objects o
 WHERE o.building_id = :bid AND o.parent_path = :p
 ORDER BY o.path;
