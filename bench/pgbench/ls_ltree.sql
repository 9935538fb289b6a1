-- The same rows from the ltree/GiST layout: children are `path ~ 'parent.*{1}'`.
\set i random(1, :ndirs)
SELECT lchildren AS lq FROM bench.dirs WHERE id = :i \gset
SELECT l.name, l.path, l.type, l.status, l.health, l.needs_repair, l.status = 'failed',
       (SELECT count(*) FROM bench.lt c WHERE c.path ~ (l.path::text || '.*{1}')::lquery)
  FROM bench.lt l
 WHERE l.path ~ :lq::lquery
 ORDER BY l.path;
