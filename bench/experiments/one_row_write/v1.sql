-- V1: history is the only extra row; deltas ride on it; the sequencer reads history by xid horizon.
CREATE SCHEMA exp;
CREATE TABLE exp.history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    building_id uuid NOT NULL, object_id uuid NOT NULL, path text COLLATE "C" NOT NULL,
    op text NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'move')),
    actor text NOT NULL, at timestamptz NOT NULL DEFAULT now(), changes jsonb NOT NULL,
    object_type text,
    d_objects smallint NOT NULL DEFAULT 0, d_located smallint NOT NULL DEFAULT 0,
    d_documented smallint NOT NULL DEFAULT 0, d_props smallint NOT NULL DEFAULT 0,
    d_instr smallint NOT NULL DEFAULT 0);
CREATE INDEX ON exp.history (building_id, path, id);
CREATE INDEX ON exp.history USING brin (at);
CREATE INDEX ON exp.history (xid);
CREATE TABLE exp.state (cursor xid8 NOT NULL, last_id bigint NOT NULL);
INSERT INTO exp.state VALUES (pg_current_xact_id(), 0);
CREATE TABLE exp.totals (building_id uuid PRIMARY KEY, objects bigint, located bigint, documented bigint, props bigint, instr bigint, changes bigint);
INSERT INTO exp.totals SELECT id, 0,0,0,0,0,0 FROM arxos.buildings;

CREATE FUNCTION exp.sequence() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE hz xid8; c xid8; last bigint; n integer;
BEGIN
    hz := pg_snapshot_xmin(pg_current_snapshot());
    SELECT s.cursor INTO c FROM exp.state s;
    IF hz <= c OR NOT EXISTS (SELECT 1 FROM exp.history h WHERE h.xid >= c AND h.xid < hz) THEN RETURN 0; END IF;
    SELECT ec.last_id INTO last FROM arxos.event_counter ec FOR UPDATE;
    WITH src AS MATERIALIZED (SELECT * FROM exp.history h WHERE h.xid >= c AND h.xid < hz),
    ins AS (
    INSERT INTO arxos.events (id, type, building_id, object_id, path, actor, at, body, building_key, object_type)
    SELECT last + row_number() OVER (ORDER BY h.xid, h.id), 'object.created', h.building_id, h.object_id, h.path,
           h.actor, h.at, jsonb_build_object('object', h.changes),
           (SELECT b.key FROM arxos.buildings b WHERE b.id = h.building_id), h.object_type
      FROM src h RETURNING 1)
    UPDATE exp.totals t SET objects = t.objects + s.o, located = t.located + s.l, documented = t.documented + s.d,
           props = t.props + s.p, instr = t.instr + s.i, changes = t.changes + s.c
      FROM (SELECT building_id, sum(d_objects) o, sum(d_located) l, sum(d_documented) d, sum(d_props) p, sum(d_instr) i, count(*) c
              FROM src GROUP BY building_id) s WHERE t.building_id = s.building_id;
    SELECT count(*) INTO n FROM arxos.events e WHERE e.id > last;
    UPDATE exp.state SET cursor = hz; UPDATE arxos.event_counter SET last_id = last + n;
    RETURN n;
END $$;
