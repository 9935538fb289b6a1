CREATE OR REPLACE FUNCTION arxos.objects_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    orphan record;
BEGIN
    SELECT n.building_id, n.path, n.parent_path INTO orphan
      FROM new_rows n
     WHERE n.parent_path <> '/'
       AND NOT EXISTS (SELECT 1 FROM arxos.objects o
                        WHERE o.building_id = n.building_id AND o.path = n.parent_path
                       OFFSET 0 FOR KEY SHARE)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'parent % of % does not exist', orphan.parent_path, orphan.path USING ERRCODE = '23503';
    END IF;
    WITH history AS (
        INSERT INTO exp.history (building_id, object_id, path, op, actor, changes, object_type,
                                 d_objects, d_located, d_documented, d_props, d_instr)
        SELECT n.building_id, n.id, n.path, 'insert', n.created_by, arxos.object_snapshot(n, 'after'), n.type,
               1, (n.x IS NOT NULL)::int, (n.status <> 'unknown')::int, (n.properties <> '{}')::int, n.instrumented::int
          FROM new_rows n
    )
    SELECT pg_notify('arxos_events', '') INTO orphan
     WHERE EXISTS (SELECT 1 FROM new_rows)
       AND EXISTS (SELECT 1 FROM arxos.listeners WHERE wants_wake AND expires_at > now());
    RETURN NULL;
END
$$;
