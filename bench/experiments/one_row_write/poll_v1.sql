SELECT exp.sequence() AS n \gset
SELECT coalesce(max(id), :last) AS last FROM (SELECT * FROM arxos.events WHERE id > :last ORDER BY id LIMIT 1000) e \gset
\sleep 5 ms
