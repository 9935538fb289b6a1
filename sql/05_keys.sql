-- ArxOS schema: API keys. Keys are 'arx_' followed by 64 random hex characters; only
-- their SHA-256 is stored. The first 12 characters (the prefix) are kept to tell keys apart.

-- The buildings a request is limited to: `arxos.building_ids` (a scoped API key's buildings,
-- comma-separated UUIDs, set by the shim per request, docs/security.md), or NULL when it is
-- unset or empty (every building). A malformed list is 22P02, not "every building".
-- The row-level-security policies call it as `(SELECT arxos.scope_ids())`, an InitPlan: read
-- and parsed once per statement instead of once per row (docs/security.md).
CREATE FUNCTION arxos.scope_ids() RETURNS uuid[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT string_to_array(nullif(current_setting('arxos.building_ids', true), ''), ',')::uuid[]
$$;

-- The buildings a SECURITY DEFINER bookkeeping function (recount_monitors,
-- note_latest_readings) keeps to: all when a trigger calls it (the statement that fired the
-- trigger met row-level security already, or bypassed it as a DBA's may, and the rows it
-- passes are that statement's), else the caller's scope_ids(), so that a scoped session
-- calling it directly cannot touch another tenant's objects. (Found by a review: a superuser's
-- monitors connection written with arxos.building_ids naming another building left the
-- watched object's count, and the rating, wrong for good.)
CREATE FUNCTION arxos.definer_scope_ids() RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pg_catalog.pg_trigger_depth() > 0 THEN NULL ELSE arxos.scope_ids() END
$$;

-- The admin functions (keys, webhooks) are called by the extension's owner (a superuser, or a
-- member of the role owning schema arxos: `arxos keys`, psql), or by an API request whose admin
-- key arxos.authorize() checked in the same transaction: it records that check in
-- arxos.admin_grants. The shim's login role may take the API's role (SET ROLE arxos_api), and
-- is trusted with the buildings' data that way (docs/security.md); without an admin key it
-- cannot mint keys or webhooks, which would outlive a change of its password (found by an
-- audit). A request limited to some buildings (`arxos.building_ids` set: a scoped API key's)
-- is refused too: admin keys are never limited to buildings, so that is a routing mistake of
-- the shim's. Returns true, so that it can guard a SQL function's WHERE.
CREATE UNLOGGED TABLE arxos.admin_grants (
    txid   xid8 PRIMARY KEY,
    key_id uuid NOT NULL
);
COMMENT ON TABLE arxos.admin_grants IS
    'The transactions in which arxos.authorize() accepted an admin key (owner only; rows of ended transactions are cleared by the next admin check).';

-- SECURITY DEFINER: it reads arxos.admin_grants, which only the owner may (called from an
-- invoker's function or trigger, it answered a raw "permission denied for table admin_grants";
-- found by an audit). session_user is the login's either way.
CREATE FUNCTION arxos.admin_call(what text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    IF arxos.scope_ids() IS NOT NULL THEN
        RAISE EXCEPTION '% needs a request that sees every building: it acts on all of them', what
            USING ERRCODE = '42501', HINT = 'admin keys are never limited to buildings';
    END IF;
    IF NOT arxos.owner_session()
       AND NOT EXISTS (SELECT FROM arxos.admin_grants g
                        WHERE g.txid = pg_catalog.pg_current_xact_id_if_assigned()) THEN
        RAISE EXCEPTION '% needs an admin API key checked in this transaction (arxos.authorize(api_key, ''admin'')), or the extension owner''s session', what
            USING ERRCODE = '42501',
                  HINT = 'use an admin API key through the API, or connect as the extension''s owner (`arxos keys`, `arxos import`, psql)';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION arxos.create_api_key(
    name      text,
    scopes    text[] DEFAULT ARRAY['read'],
    buildings text[] DEFAULT NULL,
    owner     text DEFAULT NULL
) RETURNS TABLE (id uuid, key text, prefix text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_key  text;
    v_hash bytea;
    v_ids  uuid[];
    v_bad  text;
BEGIN
    PERFORM arxos.admin_call('create_api_key');
    PERFORM arxos.check_label('name', name, 100);
    PERFORM arxos.check_label('owner', coalesce(owner, name), 100);
    -- The owner is the actor of the key's writes: not `system` (what the server writes on its
    -- own: the shim's sessions, arxos_http/src/db.rs) nor a database role's name (the actor of
    -- a session that sets none), or a tenant's writes could pass for those.
    -- (in any case: `System` reads as the server in a history as well)
    IF lower(coalesce(owner, name)) = 'system'
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE lower(r.rolname) = lower(coalesce(owner, name))) THEN
        RAISE EXCEPTION 'owner % is reserved: it is the actor of writes that no API key makes (the server''s own, or a database role''s)',
            arxos.shown(coalesce(owner, name))
            USING ERRCODE = '22023',
                  HINT = CASE WHEN owner IS NULL THEN 'the key''s name is its owner when none is given: give another owner'
                              ELSE 'choose another owner' END;
    END IF;
    PERFORM arxos.check_list('scopes', scopes), arxos.check_list('buildings', buildings);
    IF scopes IS NULL OR cardinality(scopes) = 0 OR NOT scopes <@ ARRAY['read', 'write', 'admin'] THEN
        RAISE EXCEPTION 'invalid scopes %: use read, write and/or admin', arxos.shown(scopes::text)
            USING ERRCODE = '22023';
    END IF;
    IF buildings IS NOT NULL AND (cardinality(buildings) = 0 OR array_position(buildings, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'buildings must name at least one building, and no NULL (NULL instead of a list: every building)'
            USING ERRCODE = '22023';
    END IF;
    IF buildings IS NOT NULL AND 'admin' = ANY (scopes) THEN
        RAISE EXCEPTION 'an admin key cannot be limited to buildings: admin operations (keys, webhooks) see every building'
            USING ERRCODE = '22023', HINT = 'leave buildings out, or give the key read and write only';
    END IF;
    IF buildings IS NOT NULL THEN
        -- each given by key or id (as everywhere else)
        -- an id in any form PostgreSQL reads (arxos.uuid_shaped), as building_id takes it
        SELECT b.k INTO v_bad FROM unnest(buildings) AS b(k)
         WHERE NOT EXISTS (SELECT 1 FROM arxos.buildings x
                            WHERE CASE WHEN arxos.uuid_shaped(b.k) THEN x.id = b.k::uuid
                                       ELSE x.key = b.k END) LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'unknown building %', arxos.shown(v_bad) USING ERRCODE = 'P0002';
        END IF;
        SELECT array_agg(x.id ORDER BY x.key) INTO v_ids
          FROM arxos.buildings x
         WHERE EXISTS (SELECT 1 FROM unnest(buildings) AS b(k)
                        WHERE CASE WHEN arxos.uuid_shaped(b.k) THEN x.id = b.k::uuid
                                   ELSE x.key = b.k END);
    END IF;
    -- The owner is the actor of the key's requests, and keys of one owner act for the same
    -- contributors (docs/market.md). Names are not unique: defaulted from a name such as
    -- "gateway", the owner would silently join two tenants' keys. Sharing an owner across
    -- building limits is what an explicit owner says, never the default: a defaulted owner is
    -- refused when a key of other limits has it (revoked keys too: the contributors they
    -- registered remain that owner's), or when contributors have it and no key of the same
    -- limits ever had (they were registered by someone else: a DBA's role, say). A new key of
    -- the same name and limits (a rotation) keeps its predecessor's contributors.
    -- (Two keys created at once would each miss the other: every creation queues on a
    -- serialisation point, and the check reads what committed meanwhile.)
    PERFORM arxos.serialize('api_key_owner');
    IF create_api_key.owner IS NULL
       AND (EXISTS (SELECT 1 FROM arxos.api_keys k
                     WHERE k.owner = create_api_key.name
                       AND NOT coalesce(k.building_ids IS NOT DISTINCT FROM v_ids
                                        OR (k.building_ids @> v_ids AND k.building_ids <@ v_ids), false))
            OR (EXISTS (SELECT 1 FROM arxos.contributors c WHERE c.owner = create_api_key.name)
                AND NOT EXISTS (SELECT 1 FROM arxos.api_keys k WHERE k.owner = create_api_key.name))) THEN
        RAISE EXCEPTION 'owner % (the key''s name: no owner was given) is already in use by keys of other buildings or by contributors',
            arxos.shown(create_api_key.name) USING ERRCODE = '23505',
            DETAIL = 'keys of one owner act as one actor, for the same contributors',
            HINT = 'give the owner explicitly to share it on purpose, or choose another name';
    END IF;
    -- gen_random_uuid() draws from the operating system's strong random source: two of them
    -- give 244 random bits.
    v_key := 'arx_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    -- The key never enters a statement's plan, only its hash and prefix: a plan logged by
    -- auto_explain (log_nested_statements) shows the values of the variables it used, and the
    -- assignments here are evaluated without a plan of their own (found by a review).
    v_hash := sha256(convert_to(v_key, 'UTF8'));
    prefix := left(v_key, 12);
    INSERT INTO arxos.api_keys AS k (name, owner, prefix, key_hash, scopes, building_ids)
    VALUES (create_api_key.name, coalesce(create_api_key.owner, create_api_key.name),
            create_api_key.prefix, v_hash,
            -- each scope once, in the order read, write, admin
            ARRAY(SELECT s FROM unnest(ARRAY['read', 'write', 'admin']) s WHERE s = ANY (create_api_key.scopes)),
            v_ids)
    RETURNING k.id INTO id;
    key := v_key;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION arxos.create_api_key IS 'Creates an API key; the key is returned once and stored hashed.';

-- The place of an item in a listing by creation (keys, webhooks): its created_at and id joined
-- by a comma, as the API's next link gives it ('2026-12-06T08:50:00.123456+00:00,<id>'); the
-- listing goes on after it, whether or not that item still exists. NULL for NULL.
CREATE FUNCTION arxos.created_place(after text, OUT at timestamptz, OUT id uuid)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF after IS NULL THEN
        RETURN;
    END IF;
    at := arxos.try_timestamptz(substring(after FROM '^([^,]*),'));
    IF at IS NULL OR after ~ ',.*,' OR NOT arxos.uuid_shaped(substring(after FROM ',(.*)$')) THEN
        RAISE EXCEPTION 'after must be the place of the last item of the page before: its created_at and id joined by a comma, as the next link gives it (2026-12-06T08:50:00.123456+00:00,<uuid>), got %',
            arxos.shown(after) USING ERRCODE = '22023';
    END IF;
    id := substring(after FROM ',(.*)$')::uuid;
END
$$;

-- Keys by creation, a page at a time: after the place created_place reads, at most max
-- (NULL: all).
CREATE FUNCTION arxos.list_api_keys(after text DEFAULT NULL, max integer DEFAULT NULL)
RETURNS TABLE (id uuid, name text, owner text, prefix text, scopes text[], buildings text[],
               created_at timestamptz, last_used_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT k.id, k.name, k.owner, k.prefix, k.scopes,
           -- a building deleted since shows as its id: the key stays limited (to nothing there)
           (SELECT array_agg(coalesce(b.key, u.id::text) ORDER BY b.key NULLS LAST, u.id)
              FROM unnest(k.building_ids) AS u(id) LEFT JOIN arxos.buildings b ON b.id = u.id),
           k.created_at, k.last_used_at, k.revoked_at
      FROM arxos.api_keys k, arxos.created_place(list_api_keys.after) p
     WHERE arxos.admin_call('list_api_keys')
       AND (list_api_keys.after IS NULL OR (k.created_at, k.id) > (p.at, p.id))
     ORDER BY k.created_at, k.id
     -- the checks again where max => 0 (no row read, the WHERE never run) still makes them
     LIMIT (SELECT arxos.listing_limit(max) FROM arxos.created_place(list_api_keys.after)
             WHERE arxos.admin_call('list_api_keys'))
$$;

-- True when it revoked the key; false when no active key has this id.
CREATE FUNCTION arxos.revoke_api_key(key_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    PERFORM arxos.admin_call('revoke_api_key');
    IF key_id IS NULL THEN
        RAISE EXCEPTION 'key_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    UPDATE arxos.api_keys k SET revoked_at = now() WHERE k.id = key_id AND k.revoked_at IS NULL;
    RETURN FOUND;
END
$$;

-- Looks a key up by its hash. Returns no row for an unknown or revoked key. last_used_at is
-- refreshed at most once a minute, so a busy key does not turn every request into a write,
-- and never waits for it: when another transaction holds the key's row (a running
-- /api/query, whose transaction is rolled back, or a concurrent refresh), this one skips the
-- refresh rather than queueing behind it.
CREATE FUNCTION arxos.authenticate(api_key text)
RETURNS TABLE (key_id uuid, owner text, scopes text[], building_ids uuid[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
DECLARE
    k arxos.api_keys;
    -- hashed before the query, so that the query's plan holds the hash, not the key (a plan
    -- logged by auto_explain shows the values it used; found by a review)
    h bytea := sha256(convert_to(api_key, 'UTF8'));
BEGIN
    SELECT * INTO k FROM arxos.api_keys x
     WHERE x.key_hash = h AND x.revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
        UPDATE arxos.api_keys x SET last_used_at = now()
         WHERE x.id = (SELECT y.id FROM arxos.api_keys y
                        WHERE y.id = k.id AND (y.last_used_at IS NULL OR y.last_used_at < now() - interval '1 minute')
                          FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN QUERY SELECT k.id, k.owner, k.scopes, k.building_ids;
END
$$;

-- Tells running shims that a key was revoked or deleted (NOTIFY arxos_keys, '<key id>'), so
-- they forget what they remembered of it at once, whether the key went through
-- arxos.revoke_api_key or a plain UPDATE or DELETE; and moves arxos.key_generation, which the
-- shims' listeners read with the events (the NOTIFY may reach them after events committed
-- later). SECURITY DEFINER: whoever may change a key moves the generation. Deferred to the
-- commit (a NOTIFY is sent then anyway): the generation's row is locked only for the commit,
-- so a transaction that changed one key and stays open does not hold up every other key
-- change (a revocation would wait for it), and the count's row adds no lock cycle to those of
-- the key rows themselves.
CREATE FUNCTION arxos.api_keys_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    PERFORM pg_notify('arxos_keys', OLD.id::text);
    UPDATE arxos.key_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER api_keys_revoked AFTER UPDATE ON arxos.api_keys
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
                       OR NEW.key_hash IS DISTINCT FROM OLD.key_hash
                       OR NEW.scopes IS DISTINCT FROM OLD.scopes
                       OR NEW.building_ids IS DISTINCT FROM OLD.building_ids
                       OR NEW.owner IS DISTINCT FROM OLD.owner)
    EXECUTE FUNCTION arxos.api_keys_changed();
CREATE CONSTRAINT TRIGGER api_keys_deleted AFTER DELETE ON arxos.api_keys
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION arxos.api_keys_changed();
