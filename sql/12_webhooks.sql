-- ArxOS schema, part 12: the events' JSON shape, webhooks and their durable deliveries
-- (see docs/realtime.md).
--
-- Secrets: a webhook's signing key is stored sealed (AES-256-GCM, arxos.seal_secret) under the
-- server's key file (arxos.secret_key_file; docs/security.md, "Webhook secrets at rest"), and
-- opened (arxos.open_secret) only to hand it to the delivery worker. The API
-- role (arxos_api) has no privilege on the webhook tables at all: it manages webhooks through
-- the SECURITY DEFINER functions below, which return a secret only when they create or rotate
-- it. The delivery functions, which hand secrets to the worker, are executable only by the
-- shim's login role (arxos_authenticator) and superusers.

-------------------------------------------------------------------------------------------------
-- Events as clients see them (SSE, /api/events/recent, webhook bodies)
-------------------------------------------------------------------------------------------------

-- The object type an event is about: the object's type when the event was written (object
-- events record it), else its type when the event was sequenced (NULL for events about no
-- object, or about an object already gone then). The sequencer stores it in the event
-- (events.object_type).
CREATE FUNCTION arxos.event_object_type(e arxos.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT e.object_type $$;

-- The other path an event is about, besides its own: where an object moved from (so that a
-- subscriber to the subtree it left hears of it), a connection's target (its path is the
-- source's). NULL for the other events.
CREATE FUNCTION arxos.event_other_path(e arxos.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.type = 'object.moved' THEN e.body ->> 'from'
                WHEN starts_with(e.type, 'connection.') THEN e.body -> 'connection' ->> 'to' END
$$;

-- The type an object had before an event changed it (object.updated of its type), else NULL:
-- a subscriber to the old type hears that the object is no longer one.
CREATE FUNCTION arxos.event_old_type(e arxos.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.type = 'object.updated' THEN e.body -> 'changes' -> 'type' ->> 'before' END
$$;

-- One event as JSON: {id, type, building, object_id, object_type, path, actor, at, body}.
-- `building` is the building's key. A plain expression over the event's own columns (the
-- sequencer stored the key and the object type), so the planner inlines it: readers pay no
-- lookup per event. `at` is written in UTC whatever the session's TimeZone, as the timestamp
-- without zone it is in UTC plus the offset (the text a UTC session's JSON gives a
-- timestamptz), because a SET TimeZone clause would stop the inlining; only a time outside
-- years 1..294276 (infinity, BC, set by hand) falls back to the session's form.
CREATE FUNCTION arxos.event_json(e arxos.events) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id, 'type', e.type, 'building', e.building_key,
        'object_id', e.object_id, 'object_type', e.object_type, 'path', e.path,
        'actor', e.actor,
        'at', CASE WHEN e.at >= timestamptz '0001-01-01 00:00:00+00' AND e.at < timestamptz 'infinity'
                   THEN to_jsonb((to_jsonb(e.at AT TIME ZONE 'UTC') #>> '{}') || '+00:00')
                   ELSE to_jsonb(e.at) END,
        'body', e.body)
$$;

-- Whether an event passes a subscription's filters (NULL filters pass everything): type
-- patterns as in arxos.event_type_matches, building, path prefix `under` (the path itself or
-- anything below it; an event passes when its other path does, event_other_path: a move out
-- of the subtree, a connection into it), object type (or the type it had before the event,
-- event_old_type: an object that stopped being one). The shim applies the same rules to live
-- SSE streams (realtime/filter.rs).
CREATE FUNCTION arxos.event_matches(e arxos.events, types text[], building uuid, under text,
                                    object_type text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (building IS NULL OR e.building_id = building)
       AND (under IS NULL OR under = '/' OR e.path = under
            OR (e.path >= arxos.path_lower(under) AND e.path < arxos.path_upper(under))
            -- compared byte by byte, as paths are (the column's COLLATE "C"), whatever the
            -- database's collation
            OR arxos.event_other_path(e) COLLATE "C" = under
            OR (arxos.event_other_path(e) COLLATE "C" >= arxos.path_lower(under)
                AND arxos.event_other_path(e) COLLATE "C" < arxos.path_upper(under)))
       -- event_type_matches is a function call per row (it cannot be inlined): only when needed
       AND (types IS NULL OR arxos.event_type_matches(e.type, types))
       AND (object_type IS NULL OR arxos.event_object_type(e) = object_type
            OR arxos.event_old_type(e) = object_type)
$$;

-------------------------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.webhooks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Schemes are case-insensitive (RFC 3986): HTTPS://host is an https URL.
    url              text NOT NULL CONSTRAINT webhook_url_http
                     CHECK (url ~* '^https?://[^/?#[:space:][:cntrl:]]+' AND url !~ '[[:space:][:cntrl:]]'
                            AND length(url) <= 2000 AND arxos.webhook_url_problem(url) IS NULL),
    description      text NOT NULL DEFAULT '' CONSTRAINT webhook_description_text
                     CHECK (arxos.is_text(description, 500)),
    -- Filters, NULL = any.
    types            text[] CONSTRAINT webhook_types_not_empty CHECK (cardinality(types) > 0),
    -- The building filter, and its key (following renames: webhooks_follow_key; shown once the
    -- building is gone). No
    -- foreign key: a webhook outlives its building, receives its building.deleted event and
    -- is then disabled by enqueue_deliveries (a cascade deleted it, and its undelivered
    -- deliveries, without a word).
    building_id      uuid,
    building_key     text CONSTRAINT webhook_building_key CHECK ((building_key IS NULL) = (building_id IS NULL)),
    under            text COLLATE "C",
    object_type      text CONSTRAINT webhook_object_type_label CHECK (arxos.is_label(object_type, 100)),
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    -- The building.deleted event of the webhook's building, when that deletion disabled it:
    -- its delivery, and those of the events before it that were queued for the webhook, still
    -- go out (with their retries) while the webhook is disabled, as test messages do, so that
    -- the receiver learns the building is gone, and what happened to it before. Cleared when
    -- the webhook is enabled again (it then sends everything), disabled by hand, or answered
    -- 410.
    farewell_event   bigint,
    -- Signing keys (raw bytes; clients see them as whsec_<base64>). During a rotation the
    -- previous key signs too, until previous_expires_at.
    -- sealed by arxos.seal_secret (version 1): never the key itself
    secret           bytea NOT NULL CHECK (get_byte(secret, 0) = 1 AND octet_length(secret) > 33),
    previous_secret  bytea CHECK (get_byte(previous_secret, 0) = 1 AND octet_length(previous_secret) > 33),
    previous_expires_at timestamptz,
    -- Only events after this id are delivered (the outbox's head when the webhook was made).
    starts_after     bigint NOT NULL,
    -- First failure of the current run of failures; NULL while the endpoint answers 2xx.
    failing_since    timestamptz,
    -- The endpoint's fresh starts (a new url, or enabled: true sent), counted: the outcome of
    -- an attempt claimed before the latest says nothing of the endpoint as it is now
    -- (finish_deliveries; found by a review: a late 410 from the old url disabled a webhook
    -- just moved to a new one).
    endpoint_epoch   integer NOT NULL DEFAULT 0,
    -- How long the endpoint's recent answers took, in ms (a moving average of the batches of
    -- outcomes, the latest weighing a fifth; NULL before the first): one slower than
    -- webhook_slow_ms() gets an eighth of the per-webhook cap, as a failing one does
    -- (claim_deliveries; found by a review: two endpoints answering 2xx after 3.7 s held every
    -- slot of a shim, and a third webhook's deliveries took 16 s instead of 0.8).
    latency_ms       real,
    created_by       text NOT NULL DEFAULT arxos.current_actor(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- How far the fan-out of events into deliveries has got.
CREATE TABLE arxos.webhook_cursor (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_event_id bigint NOT NULL
);
INSERT INTO arxos.webhook_cursor (last_event_id) SELECT last_id FROM arxos.event_counter;

-- One row per event and webhook (or per test message). status: pending (waiting for
-- next_attempt_at), delivering (leased by a worker until lease_until), delivered, dead (the
-- retry schedule is exhausted, or the endpoint answered 410).
CREATE TABLE arxos.webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES arxos.webhooks (id) ON DELETE CASCADE,
    event_id        bigint,
    -- The Standard Webhooks message id (header webhook-id): the same on every attempt.
    message_id      text NOT NULL,
    -- Body of messages that are not outbox events (tests).
    payload         jsonb,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    leased_by       text,
    -- The webhook's endpoint_epoch when the current lease was claimed (its url with it).
    claimed_epoch   integer,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK ((event_id IS NULL) <> (payload IS NULL)),
    UNIQUE (webhook_id, event_id)
);
-- What a claim reads per webhook (claim_deliveries): its due deliveries in order, its test
-- messages (sent even while the webhook is disabled), and its leases (running ones count
-- against its cap, expired ones are sent again).
CREATE INDEX webhook_deliveries_due ON arxos.webhook_deliveries (webhook_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_tests ON arxos.webhook_deliveries (webhook_id, next_attempt_at, id)
    WHERE status = 'pending' AND payload IS NOT NULL;
CREATE INDEX webhook_deliveries_leases ON arxos.webhook_deliveries (webhook_id, lease_until)
    WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_webhook ON arxos.webhook_deliveries (webhook_id, id);
ALTER TABLE arxos.webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02);

-- Every attempt: when, the answer's status (NULL when none came), latency, error, the start of
-- the answer's body.
CREATE TABLE arxos.webhook_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      bigint NOT NULL REFERENCES arxos.webhook_deliveries (id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    status_code      integer,
    latency_ms       integer,
    error            text,
    response_excerpt text,
    worker           text
);
CREATE INDEX webhook_attempts_delivery ON arxos.webhook_attempts (delivery_id, id);

-------------------------------------------------------------------------------------------------
-- Management (API: admin scope)
-------------------------------------------------------------------------------------------------

-- A new signing key, arxos.webhook_new_secret(): 32 random bytes (Rust, secrets.rs).

-- The key a webhook filtered on a building keeps follows the building's (a rename), so that a
-- webhook disabled, or whose building was deleted, names the building as it was last called
-- (found by a review: the key it was filtered on stayed). The buildings' update trigger calls
-- it with the buildings whose key changed; it writes only those buildings' own keys.
CREATE FUNCTION arxos.webhooks_follow_key(buildings uuid[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    UPDATE arxos.webhooks w SET building_key = b.key
      FROM arxos.buildings b
     WHERE b.id = ANY (webhooks_follow_key.buildings) AND w.building_id = b.id
       AND w.building_key IS DISTINCT FROM b.key
       -- a session limited to buildings reaches their webhooks only, as row-level security would
       AND (arxos.scope_ids() IS NULL OR b.id = ANY (arxos.scope_ids()))
$$;

-- A webhook as the API shows it: never its secrets.
CREATE FUNCTION arxos.webhook_json(w arxos.webhooks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', w.id, 'url', w.url, 'description', w.description, 'types', to_jsonb(w.types),
        'building', coalesce((SELECT b.key FROM arxos.buildings b WHERE b.id = w.building_id), w.building_key),
        'under', w.under, 'object_type', w.object_type, 'enabled', w.enabled,
        'disabled_reason', w.disabled_reason, 'failing_since', w.failing_since,
        'rotating_until', CASE WHEN w.previous_expires_at > now() THEN w.previous_expires_at END,
        'created_by', w.created_by, 'created_at', w.created_at, 'updated_at', w.updated_at)
$$;

-- The url, description and object_type rules of arxos.webhooks, with an error that says which
-- was broken.
CREATE FUNCTION arxos.webhook_check_fields(url text, description text, object_type text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF object_type IS NOT NULL AND NOT arxos.is_label(object_type, 100) THEN
        RAISE EXCEPTION 'object_type must be an object type, 1 to 100 characters, no space at either end, without control or invisible formatting characters (got %): leave it out (null) for every object type',
            arxos.shown(object_type) USING ERRCODE = '22023';
    END IF;
    IF url IS NULL THEN
        RAISE EXCEPTION 'url is required' USING ERRCODE = '22023';
    END IF;
    IF length(url) > 2000 THEN
        RAISE EXCEPTION 'url must be at most 2000 characters (got %)', length(url) USING ERRCODE = '22023';
    END IF;
    -- The messages never quote the URL, which may carry a credential (a refused one would
    -- be in the server's error log; found by an audit): they say where it went wrong.
    IF url ~ '[[:space:][:cntrl:]]' THEN
        RAISE EXCEPTION 'url must have no spaces or control characters: character % of % is one',
            length(substring(url FROM '^[^[:space:][:cntrl:]]*')) + 1, length(url)
            USING ERRCODE = '22023';
    END IF;
    IF url !~* '^https?://' THEN
        RAISE EXCEPTION 'url must be an http:// or https:// URL: it does not start with http:// or https://'
            USING ERRCODE = '22023';
    END IF;
    IF url !~* '^https?://[^/?#]+' THEN
        RAISE EXCEPTION 'url must name a host after its scheme (%://host/…)', lower(substring(url FROM '^([A-Za-z]+):'))
            USING ERRCODE = '22023';
    END IF;
    -- what the delivery client's URL parser refuses (a port above 65535, a broken IPv6
    -- address, an empty host after a user name): no delivery could reach it (found by a
    -- review: the regex above took them, the shim refused them with a check of its own)
    IF arxos.webhook_url_problem(url) IS NOT NULL THEN
        RAISE EXCEPTION '%', arxos.webhook_url_problem(url) USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_text('description', description, 500);
END
$$;

CREATE FUNCTION arxos.webhook_check_types(types text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF cardinality(types) = 0 THEN
        RAISE EXCEPTION 'types must not be empty: a webhook with no event types would never fire'
            USING ERRCODE = '22023', HINT = 'leave types out (or null) for every event type';
    END IF;
    PERFORM arxos.check_event_types(types);
END
$$;

-- A webhook written with plain SQL meets the filters' rules of create_webhook and
-- patch_webhook (found by an audit: types that are no pattern, an `under` not normalised and a
-- negative starts_after were stored, and their filters never matched, without a word): types
-- are patterns, `under` is stored normalised (an invalid path is refused), starts_after is an
-- event position.
CREATE FUNCTION arxos.webhooks_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM arxos.webhook_check_types(NEW.types);
    IF NEW.under IS NOT NULL THEN
        NEW.under := arxos.normalize_path(NEW.under);
    END IF;
    IF NEW.starts_after < 0 THEN
        RAISE EXCEPTION 'starts_after must be an event position (0 or more), got %', NEW.starts_after
            USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END
$$;

-- The building a webhook filters on (by key or id), held for the rest of the transaction (a
-- delete that commits meanwhile: unknown, not a webhook of a building already gone); a row of
-- NULLs for no building.
CREATE FUNCTION arxos.webhook_building(building text) RETURNS arxos.buildings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b arxos.buildings;
BEGIN
    IF building IS NULL THEN
        RETURN b;
    END IF;
    SELECT * INTO b FROM arxos.buildings x WHERE x.id = arxos.building_id(building) FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM arxos.unknown_building(building);
    END IF;
    RETURN b;
END
$$;

-- Creates a webhook; returns it with its secret (whsec_<base64>), shown this once.
CREATE FUNCTION arxos.create_webhook(url text, types text[] DEFAULT NULL, building text DEFAULT NULL,
                                     under text DEFAULT NULL, object_type text DEFAULT NULL,
                                     description text DEFAULT '', enabled boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    w   arxos.webhooks;
    key bytea := arxos.webhook_new_secret();
    b   arxos.buildings;
BEGIN
    PERFORM arxos.admin_call('create_webhook');
    b := arxos.webhook_building(building);
    PERFORM arxos.webhook_check_types(types);
    PERFORM arxos.webhook_check_fields(url, coalesce(description, ''), object_type);
    -- Events committed before now get their ids first, so starts_after leaves them out. The
    -- sequencer's lock is held until this transaction ends: an event numbered after
    -- starts_after is read is numbered after the webhook is visible, so enqueue_deliveries
    -- cannot move its cursor past it before the webhook exists for it.
    PERFORM arxos.lock_sequencer();
    PERFORM arxos.sequence_events();
    INSERT INTO arxos.webhooks (url, types, building_id, building_key, under, object_type, description,
                                enabled, secret, starts_after)
    VALUES (url, types, b.id, b.key,
            CASE WHEN under IS NOT NULL THEN arxos.normalize_path(under) END,
            object_type, coalesce(description, ''), coalesce(enabled, true),
            arxos.seal_secret(key), (SELECT c.last_id FROM arxos.event_counter c))
    RETURNING * INTO w;
    RETURN arxos.webhook_json(w) || jsonb_build_object('secret', 'whsec_' || encode(key, 'base64'));
EXCEPTION WHEN check_violation OR not_null_violation THEN
    RAISE EXCEPTION 'invalid webhook: url must be http(s)://host/... (at most 2000 characters), description at most 500 characters'
        USING ERRCODE = '22023';
END
$$;

-- Webhooks by creation, a page at a time, as list_api_keys.
CREATE FUNCTION arxos.list_webhooks(after text DEFAULT NULL, max integer DEFAULT NULL) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT arxos.webhook_json(w)
      FROM arxos.webhooks w, arxos.created_place(list_webhooks.after) p
     WHERE arxos.admin_call('list_webhooks')
       AND (list_webhooks.after IS NULL OR (w.created_at, w.id) > (p.at, p.id))
     ORDER BY w.created_at, w.id
     -- the checks again where max => 0 (no row read, the WHERE never run) still makes them
     LIMIT (SELECT arxos.listing_limit(max) FROM arxos.created_place(list_webhooks.after)
             WHERE arxos.admin_call('list_webhooks'))
$$;

CREATE FUNCTION arxos.get_webhook(webhook uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    w arxos.webhooks;
BEGIN
    PERFORM arxos.admin_call('get_webhook');
    SELECT * INTO w FROM arxos.webhooks x WHERE x.id = webhook;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
    RETURN arxos.webhook_json(w);
END
$$;

-- Changes the fields present in `changes` (url, types, building, under, object_type,
-- description, enabled); a null value clears a filter. Enabling a webhook clears its failure
-- state.
CREATE FUNCTION arxos.patch_webhook(webhook uuid, changes jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    w     arxos.webhooks;
    bad   text;
    -- enabled: true sent (the trigger webhooks_fresh_endpoint counts the other fresh starts)
    fresh boolean := false;
BEGIN
    PERFORM arxos.admin_call('patch_webhook');
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO bad FROM jsonb_object_keys(changes) k
     WHERE k NOT IN ('url', 'types', 'building', 'under', 'object_type', 'description', 'enabled') LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown webhook field %', arxos.shown(bad) USING ERRCODE = '22023';
    END IF;
    -- text fields are JSON strings (null clears a filter), not any JSON written out as text
    SELECT e.key INTO bad FROM jsonb_each(changes) e
     WHERE (e.key IN ('building', 'under', 'object_type', 'description') AND jsonb_typeof(e.value) NOT IN ('string', 'null'))
        OR (e.key = 'url' AND jsonb_typeof(e.value) <> 'string')
        OR (e.key = 'enabled' AND jsonb_typeof(e.value) <> 'boolean')
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '% must be a %', bad,
            CASE bad WHEN 'url' THEN 'string' WHEN 'enabled' THEN 'boolean' ELSE 'string or null' END
            USING ERRCODE = '22023';
    END IF;
    -- The new building first, then the webhook: a rename locks them in that order (the
    -- buildings' trigger updates the building's webhooks, webhooks_follow_key), and the other
    -- order deadlocked with it (found by a review).
    IF changes ? 'building' AND changes ->> 'building' IS NOT NULL THEN
        PERFORM arxos.webhook_building(changes ->> 'building');
    END IF;
    SELECT * INTO w FROM arxos.webhooks x WHERE x.id = webhook FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
    IF changes ? 'url' THEN
        -- A new endpoint starts with a clean record: the old one's failures are not its own
        -- (found by a review: the minute check disabled a fixed URL before it was tried).
        IF w.url IS DISTINCT FROM changes ->> 'url' THEN
            w.failing_since := NULL;
        END IF;
        w.url := changes ->> 'url';
    END IF;
    IF changes ? 'types' THEN
        -- every element a string: jsonb_array_elements_text below would store true as 'true'
        -- (found by an audit: a PATCH of [true] or [2] answered 200 with a filter that never fires)
        IF jsonb_typeof(changes -> 'types') NOT IN ('array', 'null')
           OR (jsonb_typeof(changes -> 'types') = 'array'
               AND EXISTS (SELECT 1 FROM jsonb_array_elements(changes -> 'types') e WHERE jsonb_typeof(e) <> 'string')) THEN
            RAISE EXCEPTION 'types must be an array of strings' USING ERRCODE = '22023';
        END IF;
        w.types := CASE WHEN jsonb_typeof(changes -> 'types') = 'array'
                        THEN ARRAY(SELECT jsonb_array_elements_text(changes -> 'types')) END;
        PERFORM arxos.webhook_check_types(w.types);
    END IF;
    IF changes ? 'building' THEN
        SELECT x.id, x.key INTO w.building_id, w.building_key
          FROM arxos.webhook_building(changes ->> 'building') x;
    END IF;
    IF changes ? 'under' THEN
        w.under := CASE WHEN changes ->> 'under' IS NOT NULL
                        THEN arxos.normalize_path(changes ->> 'under') END;
    END IF;
    IF changes ? 'object_type' THEN
        w.object_type := changes ->> 'object_type';
    END IF;
    IF changes ? 'description' THEN
        w.description := coalesce(changes ->> 'description', '');
    END IF;
    IF changes ? 'enabled' THEN
        IF jsonb_typeof(changes -> 'enabled') <> 'boolean' THEN
            RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = '22023';
        END IF;
        IF (changes ->> 'enabled')::boolean THEN
            -- Also on an enabled webhook: sending enabled: true restarts the failure clock.
            w.disabled_reason := NULL;
            w.failing_since := NULL;
            fresh := true;
        ELSIF NOT (changes ->> 'enabled')::boolean AND w.enabled THEN
            w.disabled_reason := 'disabled by ' || arxos.current_actor();
        END IF;
        w.enabled := (changes ->> 'enabled')::boolean;
    END IF;
    IF (changes ? 'enabled' OR changes ? 'building') AND w.enabled AND w.building_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM arxos.buildings x WHERE x.id = w.building_id) THEN
        RAISE EXCEPTION 'the building % of webhook % was deleted: it would receive nothing', w.building_key, webhook
            USING ERRCODE = '55000', HINT = 'point it at another building ("building") or delete the webhook';
    END IF;
    PERFORM arxos.webhook_check_fields(w.url, w.description, w.object_type);
    UPDATE arxos.webhooks x
       SET url = w.url, types = w.types, building_id = w.building_id, building_key = w.building_key,
           under = w.under,
           object_type = w.object_type, description = w.description, enabled = w.enabled,
           disabled_reason = w.disabled_reason, failing_since = w.failing_since,
           endpoint_epoch = x.endpoint_epoch + CASE WHEN fresh THEN 1 ELSE 0 END,
           -- enabled (it sends everything) or disabled by hand (it sends nothing more): the
           -- farewell ends either way
           farewell_event = CASE WHEN w.enabled OR changes ? 'enabled' THEN NULL ELSE x.farewell_event END,
           -- a PATCH that changes nothing ({} or the values it has) leaves the time alone
           updated_at = CASE WHEN (x.url, x.types, x.building_id, x.under, x.object_type, x.description, x.enabled,
                                   x.disabled_reason, x.failing_since)
                                  IS DISTINCT FROM
                                  (w.url, w.types, w.building_id, w.under, w.object_type, w.description, w.enabled,
                                   w.disabled_reason, w.failing_since)
                             THEN now() ELSE x.updated_at END
     WHERE x.id = webhook
    RETURNING * INTO w;
    RETURN arxos.webhook_json(w);
-- Not the constraint's own error: its DETAIL would show the whole row, sealed secrets included.
EXCEPTION WHEN check_violation OR not_null_violation THEN
    RAISE EXCEPTION 'invalid webhook: url must be http(s)://host/... (at most 2000 characters), description at most 500 characters'
        USING ERRCODE = '22023';
END
$$;

CREATE FUNCTION arxos.delete_webhook(webhook uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    PERFORM arxos.admin_call('delete_webhook');
    -- Its deliveries first, in id order, as finish_deliveries locks them: the cascade below
    -- would otherwise take them in its own order, and a worker recording outcomes (holding
    -- some, waiting for others) would deadlock with it. (The DELETE then takes the fan-out's
    -- cursor: webhooks_before_delete.)
    PERFORM 1 FROM arxos.webhook_deliveries d WHERE d.webhook_id = webhook ORDER BY d.id FOR UPDATE;
    DELETE FROM arxos.webhooks x WHERE x.id = webhook;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
END
$$;

-- Any delete of webhooks (delete_webhook, a DBA's DELETE) first takes
-- the fan-out's cursor, which enqueue_deliveries holds while it fans out: the delete waits for a
-- running round (which would otherwise fail on the deliveries' foreign key when the webhook
-- goes), and a round starting meanwhile skips (it takes the cursor with SKIP LOCKED) and runs
-- again once the webhook is gone.
CREATE FUNCTION arxos.webhooks_before_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    PERFORM 1 FROM arxos.webhook_cursor FOR UPDATE;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhooks_before_delete BEFORE DELETE ON arxos.webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.webhooks_before_delete();
CREATE TRIGGER webhooks_before_insert BEFORE INSERT ON arxos.webhooks
    FOR EACH ROW EXECUTE FUNCTION arxos.webhooks_before_write();
-- (an update of the delivery state, as the worker's, checks nothing)
CREATE TRIGGER webhooks_before_update BEFORE UPDATE ON arxos.webhooks
    FOR EACH ROW WHEN ((NEW.types, NEW.under, NEW.starts_after) IS DISTINCT FROM (OLD.types, OLD.under, OLD.starts_after))
    EXECUTE FUNCTION arxos.webhooks_before_write();

-- A new url, or a webhook enabled again, written with plain SQL is a fresh start of its
-- endpoint too (endpoint_epoch; patch_webhook counts its own, enabled: true on an enabled
-- webhook among them). Either way the webhook's deliveries in flight are locked first: an
-- outcome being recorded for one of them (finish_deliveries, which holds them from its first
-- statement) is recorded whole under the epoch it read, before the new one starts (found by
-- a review: a PATCH committing in the middle left the delivery dead on a late 410).
CREATE FUNCTION arxos.webhooks_fresh_endpoint() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.endpoint_epoch = OLD.endpoint_epoch THEN
        NEW.endpoint_epoch := OLD.endpoint_epoch + 1;
    END IF;
    IF NEW.url IS DISTINCT FROM OLD.url AND NEW.latency_ms IS NOT DISTINCT FROM OLD.latency_ms THEN
        -- (another endpoint: how long the old one took says nothing of it)
        NEW.latency_ms := NULL;
    END IF;
    PERFORM 1 FROM arxos.webhook_deliveries d
     WHERE d.webhook_id = NEW.id AND d.status = 'delivering'
       FOR UPDATE;
    RETURN NEW;
END
$$;
CREATE TRIGGER webhooks_fresh_endpoint BEFORE UPDATE ON arxos.webhooks
    FOR EACH ROW WHEN (NEW.url IS DISTINCT FROM OLD.url OR (NEW.enabled AND NOT OLD.enabled)
                       OR NEW.endpoint_epoch <> OLD.endpoint_epoch)
    EXECUTE FUNCTION arxos.webhooks_fresh_endpoint();

-- A new secret; the old one keeps signing too (a second signature) for `keep_previous`, so
-- receivers can switch over. Returns the webhook with its new secret, shown this once.
CREATE FUNCTION arxos.rotate_webhook_secret(webhook uuid, keep_previous interval DEFAULT '24 hours')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    w   arxos.webhooks;
    key bytea := arxos.webhook_new_secret();
BEGIN
    PERFORM arxos.admin_call('rotate_webhook_secret');
    IF keep_previous IS NULL OR keep_previous < interval '0' OR keep_previous > interval '30 days' THEN
        RAISE EXCEPTION 'keep_previous must be between 0 and 30 days' USING ERRCODE = '22023';
    END IF;
    UPDATE arxos.webhooks x
       SET previous_secret = x.secret, previous_expires_at = now() + keep_previous,
           secret = arxos.seal_secret(key), updated_at = now()
     WHERE x.id = webhook
    RETURNING * INTO w;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
    RETURN arxos.webhook_json(w) || jsonb_build_object('secret', 'whsec_' || encode(key, 'base64'));
END
$$;

-- Retention: finished deliveries (delivered or dead) whose last attempt is older than the
-- horizon go, with their attempts. Pending and in-flight deliveries stay whatever their age.
-- Run by the operator (docs/operations.md), with DELETE on the deliveries table (the owner).
CREATE FUNCTION arxos.purge_webhook_deliveries(older_than interval DEFAULT '30 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    n bigint;
BEGIN
    PERFORM arxos.check_period('older_than', older_than);
    DELETE FROM arxos.webhook_deliveries d
     WHERE d.status IN ('delivered', 'dead') AND d.finished_at < now() - older_than;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Queues a `webhook.test` message for this webhook only (also when it is disabled); returns
-- the delivery.
CREATE FUNCTION arxos.test_webhook(webhook uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    d arxos.webhook_deliveries;
BEGIN
    PERFORM arxos.admin_call('test_webhook');
    IF NOT EXISTS (SELECT 1 FROM arxos.webhooks x WHERE x.id = webhook) THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO arxos.webhook_deliveries (webhook_id, message_id, payload)
    VALUES (webhook, 'test_' || replace(gen_random_uuid()::text, '-', ''),
            jsonb_build_object('id', NULL, 'type', 'webhook.test', 'building', NULL,
                               'object_id', NULL, 'object_type', NULL, 'path', NULL,
                               'actor', arxos.current_actor(), 'at', now(),
                               'body', jsonb_build_object('webhook', webhook)))
    RETURNING * INTO d;
    RETURN arxos.webhook_delivery_json(d);
END
$$;

-- A delivery with every attempt.
CREATE FUNCTION arxos.webhook_delivery_json(d arxos.webhook_deliveries) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', d.id, 'webhook_id', d.webhook_id, 'event_id', d.event_id, 'message_id', d.message_id,
        'status', d.status, 'attempts', d.attempts, 'next_attempt_at',
        CASE WHEN d.status = 'pending' THEN d.next_attempt_at END,
        'last_status', d.last_status, 'last_error', d.last_error, 'created_at', d.created_at,
        'finished_at', d.finished_at,
        'attempt_log', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'attempt', a.attempt, 'at', a.at, 'status_code', a.status_code,
                'latency_ms', a.latency_ms, 'error', a.error, 'response_excerpt', a.response_excerpt)
                ORDER BY a.id)
            FROM arxos.webhook_attempts a WHERE a.delivery_id = d.id), '[]'))
$$;

-- A webhook's deliveries, newest first: `before` (a delivery id) pages back, `status` filters.
CREATE FUNCTION arxos.webhook_deliveries(webhook uuid, status text DEFAULT NULL,
                                         before bigint DEFAULT NULL, max integer DEFAULT 100)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM arxos.admin_call('webhook_deliveries');
    IF max IS NULL OR max < 1 OR max > 10000 THEN
        RAISE EXCEPTION 'max must be between 1 and 10000, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF status IS NOT NULL AND status NOT IN ('pending', 'delivering', 'delivered', 'dead') THEN
        RAISE EXCEPTION 'unknown delivery status %', arxos.shown(status)
            USING ERRCODE = '22023', HINT = 'use pending, delivering, delivered or dead';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM arxos.webhooks x WHERE x.id = webhook) THEN
        RAISE EXCEPTION 'webhook % not found', webhook USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    SELECT arxos.webhook_delivery_json(d) FROM arxos.webhook_deliveries d
     WHERE d.webhook_id = webhook AND (status IS NULL OR d.status = status)
       AND (before IS NULL OR d.id < before)
     ORDER BY d.id DESC
     LIMIT max;
END
$$;

-- Sends a delivery again now with a fresh retry schedule (typically a dead one).
CREATE FUNCTION arxos.retry_webhook_delivery(webhook uuid, delivery bigint) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    d arxos.webhook_deliveries;
BEGIN
    PERFORM arxos.admin_call('retry_webhook_delivery');
    -- A delivery that is not the webhook's is not found, whatever the webhook's state (found by
    -- an audit: a disabled webhook's answer sent the operator to enable it, then 404).
    IF NOT EXISTS (SELECT 1 FROM arxos.webhook_deliveries x WHERE x.id = delivery AND x.webhook_id = webhook) THEN
        RAISE EXCEPTION 'delivery % of webhook % not found', delivery, webhook USING ERRCODE = 'P0002';
    END IF;
    -- A disabled webhook's deliveries are never claimed (but test messages and those up to the
    -- farewell building.deleted): a retry would wait, unsaid, until it is enabled again.
    IF EXISTS (SELECT 1 FROM arxos.webhooks w WHERE w.id = webhook AND NOT w.enabled
                  AND NOT EXISTS (SELECT 1 FROM arxos.webhook_deliveries x
                                   WHERE x.id = delivery AND x.webhook_id = w.id
                                     AND (x.payload IS NOT NULL OR x.event_id <= w.farewell_event))) THEN
        RAISE EXCEPTION 'webhook % is disabled: its deliveries are not sent', webhook
            USING ERRCODE = '55000', HINT = 'enable it first (PATCH {"enabled": true}), then retry';
    END IF;
    UPDATE arxos.webhook_deliveries x
       SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL,
           leased_by = NULL, finished_at = NULL
     -- A lease that expired is no longer being sent (its worker died or the webhook was
     -- disabled meanwhile, so nobody claims it again).
     WHERE x.id = delivery AND x.webhook_id = webhook
       AND (x.status <> 'delivering' OR x.lease_until < now())
    RETURNING * INTO d;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM arxos.webhook_deliveries x WHERE x.id = delivery AND x.webhook_id = webhook) THEN
            RAISE EXCEPTION 'delivery % is being sent right now', delivery USING ERRCODE = '55000',
                HINT = 'wait for this attempt to end, then retry';
        END IF;
        RAISE EXCEPTION 'delivery % of webhook % not found', delivery, webhook USING ERRCODE = 'P0002';
    END IF;
    RETURN arxos.webhook_delivery_json(d);
END
$$;

-------------------------------------------------------------------------------------------------
-- Delivery (the shim's worker)
-------------------------------------------------------------------------------------------------

-- Fans events after the cursor out into deliveries for the enabled webhooks they match, at
-- most `max` events per call; returns the number of events passed. One caller at a time (the
-- cursor row is locked; others return 0 right away). It reads sequenced events only: the
-- shim's listener sequences them and wakes the worker that calls this (sequencing here too
-- made the two contend for the sequencer's lock on every event).
-- The webhook.disabled events of the webhooks just disabled (ids with their reasons), and the
-- wake-up: what both ways of disabling (enqueue_deliveries, finish_deliveries) emit. Not the
-- URL: events reach every unscoped read key, and a URL may carry a credential. Returns how
-- many.
CREATE FUNCTION arxos.webhooks_disabled(ids uuid[], reasons text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF coalesce(cardinality(ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO arxos.events_pending (type, building_id, actor, body)
    SELECT 'webhook.disabled', NULL, arxos.current_actor(), jsonb_build_object('webhook', d.id, 'reason', d.reason)
      FROM unnest(ids, reasons) d(id, reason);
    PERFORM arxos.wake();
    RETURN cardinality(ids);
END
$$;

CREATE FUNCTION arxos.enqueue_deliveries(max integer DEFAULT 5000) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    cur  bigint;
    last bigint;
    head bigint;
    n    integer;
    disabled integer;
BEGIN
    IF max IS NULL OR max < 1 OR max > 100000 THEN
        RAISE EXCEPTION 'max must be between 1 and 100000, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT c.last_event_id INTO cur FROM arxos.webhook_cursor c FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    SELECT c.last_id INTO last FROM arxos.event_counter c;
    IF last <= cur THEN
        RETURN 0;
    END IF;
    -- The next `max` events by id, however far apart their ids are (skip_event_ids and purges
    -- leave gaps: walking a gap of a billion ids by `max` at a time would stall the webhooks).
    SELECT count(*), max(x.id) INTO n, head
      FROM (SELECT e.id FROM arxos.events e WHERE e.id > cur AND e.id <= last ORDER BY e.id LIMIT max) x;
    IF n < max THEN
        head := last;
    END IF;
    INSERT INTO arxos.webhook_deliveries (webhook_id, event_id, message_id)
    SELECT w.id, e.id, 'evt_' || e.id
      FROM arxos.events e
      JOIN arxos.webhooks w
        ON w.enabled AND e.id > w.starts_after
       AND arxos.event_matches(e, w.types, w.building_id, w.under, w.object_type)
     WHERE e.id > cur AND e.id <= head
     ORDER BY e.id
    ON CONFLICT DO NOTHING;
    -- A webhook filtered on a building that was deleted has just been given its
    -- building.deleted event (above, when its filters take it) and would receive nothing more:
    -- disabled, with the reason and a webhook.disabled event, as when its endpoint fails. That
    -- last delivery is its farewell_event, which claim_deliveries sends although the webhook
    -- is disabled.
    WITH off AS (
        UPDATE arxos.webhooks w
           SET enabled = false, updated_at = now(), farewell_event = d.event,
               -- the key the building had when deleted, as its event says (the webhook's own
               -- copy is the key when it was filtered on it: a rename since left it stale)
               disabled_reason = format('its building %s was deleted (event %s)',
                                        coalesce(d.deleted_key, w.building_key), d.event),
               building_key = coalesce(d.deleted_key, w.building_key)
          FROM (SELECT x.id, x.building_id, e.id AS event, e.body #>> '{building,key}' AS deleted_key
                  FROM arxos.webhooks x
                 CROSS JOIN LATERAL (SELECT e.id, e.body FROM arxos.events e
                                      WHERE e.building_id = x.building_id AND e.id > cur AND e.id <= head
                                        AND e.type = 'building.deleted'
                                      LIMIT 1) e
                 WHERE x.enabled AND x.building_id IS NOT NULL) d
         -- (again on the row itself: a PATCH that re-pointed or disabled it meanwhile wins)
         WHERE w.id = d.id AND w.enabled AND w.building_id = d.building_id
        RETURNING w.id, w.disabled_reason
    )
    SELECT arxos.webhooks_disabled(array_agg(o.id), array_agg(o.disabled_reason)) INTO disabled FROM off o;
    UPDATE arxos.webhook_cursor SET last_event_id = head;
    RETURN n;
END
$$;

-- Leases up to `max` due deliveries of enabled webhooks (and deliveries whose lease expired:
-- their worker died) to `worker` for `lease`. Concurrent workers never get the same row.
-- Returns what a worker needs to send them, secrets included (opened). A webhook whose
-- secret cannot be opened (its key file missing or replaced: docs/security.md) gets no
-- secrets and the reason in secret_error, which the worker records as a failed attempt: the
-- other webhooks' deliveries go on. A previous secret (during a rotation) that cannot be opened
-- is left out; the current one signs alone.
-- `per_webhook` (NULL: no limit) caps the deliveries of one webhook in flight at once, over
-- all workers (running leases count; expired ones are taken again within the cap), and an
-- eighth of it (at least 1) while the webhook is failing or slow (webhook_slow_ms()): an endpoint that hangs until the
-- timeout then holds a few of a worker's slots, and the other webhooks' deliveries go on. The cap is approximate under concurrent claims (each
-- worker counts the leases committed when it starts).
CREATE FUNCTION arxos.claim_deliveries(worker text, max integer, lease interval DEFAULT '60 seconds',
                                       per_webhook integer DEFAULT NULL, max_bytes bigint DEFAULT NULL)
RETURNS TABLE (delivery_id bigint, webhook_id uuid, url text, message_id text, attempt integer,
               body text, secrets bytea[], secret_error text, lease_end timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- finish_deliveries matches results to the worker that holds the lease
    IF worker IS NULL OR NOT arxos.is_label(worker, 200) THEN
        RAISE EXCEPTION 'worker must name the worker (1 to 200 characters), got %', arxos.shown(worker)
            USING ERRCODE = '22023';
    END IF;
    IF max IS NULL OR max < 1 OR max > 100000 THEN
        RAISE EXCEPTION 'max must be between 1 and 100000, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF lease IS NULL OR lease <= interval '0' OR lease > interval '1 day' THEN
        RAISE EXCEPTION 'lease must be a positive interval of at most a day, got %', coalesce(lease::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF per_webhook < 1 THEN
        RAISE EXCEPTION 'per_webhook must be at least 1 (NULL: no limit), got %', per_webhook USING ERRCODE = '22023';
    END IF;
    IF max_bytes < 1 THEN
        RAISE EXCEPTION 'max_bytes must be at least 1 (NULL: no limit), got %', max_bytes USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH room AS (
        -- What each webhook may still have in flight. A disabled webhook sends only test
        -- messages, and the events up to the building.deleted of the building whose deletion
        -- disabled it.
        -- A failing endpoint (failing_since set: its last outcome was a failure, a timeout
        -- included) gets an eighth of the cap: endpoints that hang until the timeout would
        -- otherwise hold per_webhook slots each, and two of them every slot of a worker.
        SELECT w.id, w.enabled, w.farewell_event,
               CASE WHEN per_webhook IS NULL THEN max
                    ELSE greatest(0, least(max, CASE WHEN w.failing_since IS NULL
                                                           AND coalesce(w.latency_ms, 0) <= arxos.webhook_slow_ms()
                                                      THEN per_webhook
                                                     ELSE greatest(1, per_webhook / 8) END - (
                         SELECT count(*) FROM arxos.webhook_deliveries b
                          WHERE b.webhook_id = w.id AND b.status = 'delivering'
                            AND b.lease_until >= now()))) END AS n
          FROM arxos.webhooks w
    ), candidates AS (
        -- Per webhook, within its room: its expired leases (their worker died) and its earliest
        -- due deliveries (only test messages and its farewell while it is disabled). Each branch locks with SKIP
        -- LOCKED before its LIMIT, so concurrent workers take different rows instead of
        -- colliding on the same ones.
        SELECT r.id AS webhook, r.n, c.id, c.due, true AS expired
          FROM room r
         CROSS JOIN LATERAL (
               SELECT d.id, d.lease_until AS due FROM arxos.webhook_deliveries d
                WHERE d.webhook_id = r.id AND d.status = 'delivering' AND d.lease_until < now()
                  AND (r.enabled OR d.payload IS NOT NULL OR d.event_id <= r.farewell_event)
                ORDER BY d.lease_until
                LIMIT r.n
                  FOR UPDATE OF d SKIP LOCKED) c
         WHERE r.n > 0
        UNION ALL
        SELECT r.id, r.n, c.id, c.due, false
          FROM room r
         CROSS JOIN LATERAL (
               SELECT d.id, d.next_attempt_at AS due FROM arxos.webhook_deliveries d
                WHERE d.webhook_id = r.id AND d.status = 'pending' AND d.next_attempt_at <= now()
                ORDER BY d.next_attempt_at, d.id
                LIMIT r.n
                  FOR UPDATE OF d SKIP LOCKED) c
         WHERE r.n > 0 AND r.enabled
        UNION ALL
        SELECT r.id, r.n, c.id, c.due, false
          FROM room r
         CROSS JOIN LATERAL (
               SELECT d.id, d.next_attempt_at AS due FROM arxos.webhook_deliveries d
                WHERE d.webhook_id = r.id AND d.status = 'pending'
                  AND (d.payload IS NOT NULL OR d.event_id <= r.farewell_event)
                  AND d.next_attempt_at <= now()
                ORDER BY d.next_attempt_at, d.id
                LIMIT r.n
                  FOR UPDATE OF d SKIP LOCKED) c
         WHERE r.n > 0 AND NOT r.enabled
    ), earliest AS (
        -- Expired leases and due deliveries share their webhook's room; then the earliest of
        -- all, at most max.
        SELECT x.id, x.due FROM (
            SELECT c.id, c.due, c.n,
                   row_number() OVER (PARTITION BY c.webhook ORDER BY c.expired DESC, c.due, c.id) AS rank
              FROM candidates c) x
         WHERE x.rank <= x.n
         ORDER BY x.due, x.id
         LIMIT max
    ), chosen AS (
        -- and at most max_bytes of bodies (their stored size uncompressed plus 512, as the
        -- event pages count them; at least one delivery): a worker holds every body it claims
        -- until the receiver answers (found by a review: 48 deliveries of 920 KB documents in
        -- flight held 800 MB of the shim).
        SELECT y.id FROM (
            SELECT z.id, sum(z.size) OVER (ORDER BY z.due, z.id) - z.size AS before
              FROM (SELECT e.id, e.due,
                           512 + coalesce(arxos.jsonb_raw_size(d.payload),
                                          (SELECT arxos.jsonb_raw_size(v.body) FROM arxos.events v WHERE v.id = d.event_id),
                                          0) AS size
                      FROM earliest e JOIN arxos.webhook_deliveries d ON d.id = e.id OFFSET 0) z) y
         WHERE max_bytes IS NULL OR y.before < max_bytes
    ), claimed AS (
        UPDATE arxos.webhook_deliveries d
           SET status = 'delivering', attempts = d.attempts + 1, lease_until = now() + lease,
               leased_by = worker,
               -- read in the statement's snapshot, as the url below is
               claimed_epoch = (SELECT w.endpoint_epoch FROM arxos.webhooks w WHERE w.id = d.webhook_id)
         WHERE d.id = ANY (ARRAY(SELECT chosen.id FROM chosen))
        RETURNING d.*
    )
    SELECT c.id, c.webhook_id, w.url, c.message_id, c.attempts,
           coalesce(c.payload, (SELECT arxos.event_json(e) FROM arxos.events e WHERE e.id = c.event_id),
                    jsonb_build_object('id', c.event_id, 'type', 'event.purged'))::text,
           CASE WHEN p.current IS NOT NULL THEN '{}'::bytea[]
                WHEN w.previous_secret IS NOT NULL AND w.previous_expires_at > now() AND p.previous IS NULL
                THEN ARRAY[arxos.open_secret(w.secret), arxos.open_secret(w.previous_secret)]
                ELSE ARRAY[arxos.open_secret(w.secret)] END,
           p.current, c.lease_until
      FROM claimed c JOIN arxos.webhooks w ON w.id = c.webhook_id
     CROSS JOIN LATERAL (SELECT arxos.secret_problem(w.secret) AS current,
                                arxos.secret_problem(w.previous_secret) AS previous) p
     ORDER BY c.id;
END
$$;

-- Records the outcome of deliveries a worker sent: `results` is a JSON array of
-- {delivery, lease (the lease's end, lease_end as claim_deliveries returned it: what names the lease),
-- status (HTTP status or null), latency_ms, error, excerpt, retry_after (seconds)}.
-- 2xx: delivered. 410: dead, and the webhook is disabled. Anything else: retried after
-- schedule[attempts] (±10% jitter, at least Retry-After), dead once the schedule is exhausted.
-- A webhook that has failed without a success for `disable_after` is disabled and a
-- `webhook.disabled` event is emitted. Returns the number of results taken (a repeated local
-- failure's too, though it writes no attempt row); results of a
-- lease the worker no longer holds are ignored, among them those of an earlier lease of the same
-- delivery by the same worker (its lease expired and it claimed the delivery again, perhaps
-- after a retry by hand that started its attempts again: the lease's end differs).
-- `local`: the attempt failed on this side before anything was sent (the webhook secrets' key
-- file missing or another: docs/security.md). It is recorded (unless it repeats the delivery's
-- last error), and retried after the schedule's last wait, at most 5 minutes, without using
-- the schedule up; it says nothing of the endpoint's health (found by a review: a key
-- outage dead-lettered every delivery and, past disable_after, disabled every webhook with a
-- reason that blamed its receiver).
-- `stale`: the attempt was claimed before the webhook's latest fresh start (endpoint_epoch: a
-- new url, enabled: true); a failure is then tried again at once, on the webhook as it is, its
-- attempt given back, and says nothing of the endpoint's health (a success is a delivery).
CREATE TYPE arxos.webhook_result AS (
    delivery bigint, status integer, latency_ms integer, error text, excerpt text,
    retry_after double precision, local boolean, stale boolean);

-- Past this (ms), an endpoint's answers are slow (webhooks.latency_ms): it gets an eighth of the
-- per-webhook cap (claim_deliveries).
CREATE FUNCTION arxos.webhook_slow_ms() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000 $$;

-- The reason a webhook failing past disable_after is disabled with: since when it failed and
-- the limit, written the same whatever the session's TimeZone and IntervalStyle (found by an
-- audit: "failed for 00:00:20" read as the outage's length, and the interval's text followed
-- the session's style).
CREATE FUNCTION arxos.failing_reason(since timestamptz, disable_after interval) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('the endpoint failed without a success since %s (the limit is %s)',
                  to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                  CASE WHEN s = 0 THEN '0 seconds'
                       WHEN s % 86400 = 0 THEN div(s, 86400) || CASE WHEN s = 86400 THEN ' day' ELSE ' days' END
                       WHEN s % 3600 = 0 THEN div(s, 3600) || CASE WHEN s = 3600 THEN ' hour' ELSE ' hours' END
                       WHEN s % 60 = 0 THEN div(s, 60) || CASE WHEN s = 60 THEN ' minute' ELSE ' minutes' END
                       ELSE s || CASE WHEN s = 1 THEN ' second' ELSE ' seconds' END END)
      FROM (SELECT trim_scale(extract(epoch FROM disable_after)) AS s) x
$$;

CREATE FUNCTION arxos.finish_deliveries(worker text, results jsonb, schedule interval[],
                                        disable_after interval DEFAULT '5 days')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
DECLARE
    rs       arxos.webhook_result[];
    recorded integer;
    health   uuid[];
    disabled integer;
BEGIN
    IF worker IS NULL OR NOT arxos.is_label(worker, 200) THEN
        RAISE EXCEPTION 'worker must name the worker (1 to 200 characters), got %', arxos.shown(worker)
            USING ERRCODE = '22023';
    END IF;
    IF results IS NULL OR jsonb_typeof(results) <> 'array' THEN
        RAISE EXCEPTION 'results must be a JSON array of delivery results' USING ERRCODE = '22023';
    END IF;
    IF schedule IS NULL OR cardinality(schedule) = 0 THEN
        RAISE EXCEPTION 'the retry schedule must not be empty' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(schedule) s WHERE s IS NULL OR s < interval '0' OR s > interval '1000 years') THEN
        RAISE EXCEPTION 'the retry schedule''s waits must be intervals from 0 to 1000 years, got %', arxos.shown(schedule::text)
            USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_period('disable_after', disable_after);
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(results) r
                WHERE jsonb_typeof(r -> 'lease') IS DISTINCT FROM 'string') THEN
        RAISE EXCEPTION 'every result names the lease it was sent under (the lease claim_deliveries returned)'
            USING ERRCODE = '22023';
    END IF;
    -- Only results of leases the worker still holds.
    rs := ARRAY(
        SELECT ROW(r.delivery, r.status, r.latency_ms, left(r.error, 1000), left(r.excerpt, 1000),
                   r.retry_after, coalesce(r.local, false),
                   NULL)::arxos.webhook_result  -- (stale: below, once the deliveries are locked)
          FROM jsonb_to_recordset(results) AS r(delivery bigint, lease timestamptz, status integer,
                                                latency_ms integer, error text, excerpt text,
                                                retry_after double precision, local boolean)
          JOIN arxos.webhook_deliveries d
            ON d.id = r.delivery AND d.status = 'delivering' AND d.leased_by = worker
           AND d.lease_until = r.lease
         ORDER BY d.id
           FOR UPDATE OF d);
    -- Stale as the webhook is once the deliveries are locked, read in a statement of its own
    -- (a snapshot taken now): a fresh start locks the deliveries in flight first and may
    -- commit while the statement above waited for them, whose snapshot, older, still read the
    -- old epoch: a late 410 from the old url left the delivery dead (found by a review).
    rs := ARRAY(
        SELECT ROW(r.delivery, r.status, r.latency_ms, r.error, r.excerpt, r.retry_after, r.local,
                   d.claimed_epoch IS DISTINCT FROM w.endpoint_epoch)::arxos.webhook_result
          FROM unnest(rs) r
          JOIN arxos.webhook_deliveries d ON d.id = r.delivery
          LEFT JOIN arxos.webhooks w ON w.id = d.webhook_id
         ORDER BY r.delivery);

    -- (a local failure that repeats the delivery's last error is not recorded again: a key
    -- outage of a day would write an attempt every few minutes for every waiting delivery)
    INSERT INTO arxos.webhook_attempts (delivery_id, attempt, status_code, latency_ms, error,
                                        response_excerpt, worker)
    SELECT r.delivery, d.attempts, r.status, r.latency_ms, r.error, r.excerpt, worker
      FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
     WHERE NOT (r.local AND r.error IS NOT NULL AND d.last_error IS NOT DISTINCT FROM r.error);

    UPDATE arxos.webhook_deliveries d
       SET status = CASE WHEN r.local THEN 'pending'
                         WHEN r.status BETWEEN 200 AND 299 THEN 'delivered'
                         WHEN r.stale THEN 'pending'
                         WHEN r.status = 410 OR d.attempts > cardinality(schedule) THEN 'dead'
                         ELSE 'pending' END,
           -- a local failure does not count, nor a stale one's: its attempt is given back
           attempts = CASE WHEN r.local OR (r.stale AND (r.status BETWEEN 200 AND 299) IS NOT TRUE)
                           THEN d.attempts - 1 ELSE d.attempts END,
           -- a local failure waits the schedule's last wait, at most 5 minutes (±10%): the
           -- server's trouble is retried at a steady pace, whatever the schedule's start; a
           -- stale one goes to the webhook as it is now, at once
           next_attempt_at = CASE WHEN r.local
                                  THEN now() + least(schedule[cardinality(schedule)], interval '5 minutes')
                                               * (0.9 + random() * 0.2)
                                  WHEN r.status BETWEEN 200 AND 299 THEN d.next_attempt_at
                                  WHEN r.stale THEN now()
                                  WHEN r.status = 410 OR d.attempts > cardinality(schedule) THEN d.next_attempt_at
                             ELSE now() + greatest(schedule[d.attempts] * (0.9 + random() * 0.2),
                                                   coalesce(r.retry_after, 0) * interval '1 second') END,
           finished_at = CASE WHEN r.local THEN NULL
                              WHEN r.status BETWEEN 200 AND 299 THEN now()
                              WHEN r.stale THEN NULL
                              WHEN r.status = 410 OR d.attempts > cardinality(schedule) THEN now() END,
           lease_until = NULL, leased_by = NULL,
           last_status = r.status, last_error = r.error
      FROM unnest(rs) r
     WHERE d.id = r.delivery;

    -- The endpoints' health, on the webhook rows nobody else holds (SKIP LOCKED): a DBA's
    -- open UPDATE of one webhook must not hold up the outcomes of every other (the whole batch
    -- would wait), and a plain DELETE of a webhook (its row locked, then the cascade to its
    -- deliveries, some of which this transaction holds) must not deadlock with it. A skipped
    -- webhook's health follows its next outcome.
    -- (local failures say nothing of an endpoint: left out)
    -- (nor stale ones, of an endpoint the webhook has left: checked again against the webhook
    -- rows once they are locked, which a PATCH cannot change any more)
    recorded := cardinality(rs);
    rs := ARRAY(SELECT r FROM unnest(rs) r WHERE NOT r.local AND NOT r.stale);
    health := ARRAY(SELECT w.id FROM arxos.webhooks w
                     WHERE w.id IN (SELECT d.webhook_id FROM unnest(rs) r
                                      JOIN arxos.webhook_deliveries d ON d.id = r.delivery)
                     ORDER BY w.id
                       FOR NO KEY UPDATE SKIP LOCKED);
    rs := ARRAY(SELECT r FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                  JOIN arxos.webhooks w ON w.id = d.webhook_id
                 WHERE w.endpoint_epoch IS NOT DISTINCT FROM d.claimed_epoch);
    -- how long its answers take (attempts with a status: a timeout is a failure already)
    UPDATE arxos.webhooks w
       SET latency_ms = CASE WHEN w.latency_ms IS NULL THEN x.avg ELSE 0.8 * w.latency_ms + 0.2 * x.avg END
      FROM (SELECT d.webhook_id, avg(greatest(r.latency_ms, 0))::real AS avg
              FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
             WHERE r.status IS NOT NULL AND r.latency_ms IS NOT NULL
             GROUP BY d.webhook_id) x
     WHERE w.id = x.webhook_id AND w.id = ANY (health);
    UPDATE arxos.webhooks w SET failing_since = NULL
     WHERE w.failing_since IS NOT NULL AND w.id = ANY (health)
       AND w.id IN (SELECT d.webhook_id FROM unnest(rs) r
                      JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                     WHERE r.status BETWEEN 200 AND 299);
    UPDATE arxos.webhooks w SET failing_since = now()
     WHERE w.failing_since IS NULL AND w.id = ANY (health)
       AND w.id IN (SELECT d.webhook_id FROM unnest(rs) r
                      JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                     WHERE r.status IS NULL OR r.status NOT BETWEEN 200 AND 299)
       AND NOT EXISTS (SELECT 1 FROM unnest(rs) r
                         JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                        WHERE d.webhook_id = w.id AND r.status BETWEEN 200 AND 299);
    WITH off AS (
        UPDATE arxos.webhooks w
           SET enabled = false, updated_at = now(),
               disabled_reason = CASE WHEN EXISTS (
                       SELECT 1 FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                        WHERE d.webhook_id = w.id AND r.status = 410)
                   THEN 'the endpoint answered 410 Gone'
                   ELSE arxos.failing_reason(w.failing_since, disable_after) END
         WHERE w.enabled AND w.id = ANY (health)
           AND w.id IN (SELECT d.webhook_id FROM unnest(rs) r
                          JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                         WHERE r.status = 410 OR r.status IS NULL OR r.status NOT BETWEEN 200 AND 299)
           AND (w.failing_since <= now() - disable_after
                OR EXISTS (SELECT 1 FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                            WHERE d.webhook_id = w.id AND r.status = 410))
        RETURNING w.*
    )
    SELECT arxos.webhooks_disabled(array_agg(o.id), array_agg(o.disabled_reason)) INTO disabled FROM off o;
    -- A 410 to a webhook sending its farewell while disabled ends the farewell: the receiver
    -- is gone, and the rest of it is not sent.
    UPDATE arxos.webhooks w SET farewell_event = NULL
     WHERE w.farewell_event IS NOT NULL AND w.id = ANY (health)
       AND w.id IN (SELECT d.webhook_id FROM unnest(rs) r JOIN arxos.webhook_deliveries d ON d.id = r.delivery
                     WHERE r.status = 410);
    RETURN recorded;
END
$$;

-- The timer side of `disable_after`: finish_deliveries disables a failing webhook when one of
-- its attempts fails past the period, but an endpoint that went down after its last event
-- has no more attempts once its deliveries are dead, and would stay enabled (found by a
-- review). The webhook worker calls this every minute: webhooks failing without a success
-- for `disable_after` are disabled, with a `webhook.disabled` event each. Rows someone else
-- holds are left for the next call. Returns the number disabled.
CREATE FUNCTION arxos.disable_failing_webhooks(disable_after interval DEFAULT '5 days')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    disabled integer;
BEGIN
    PERFORM arxos.check_period('disable_after', disable_after);
    WITH off AS (
        UPDATE arxos.webhooks w
           SET enabled = false, updated_at = now(),
               disabled_reason = arxos.failing_reason(w.failing_since, disable_after)
         WHERE w.id = ANY (ARRAY(SELECT x.id FROM arxos.webhooks x
                                  WHERE x.enabled AND x.failing_since <= now() - disable_after
                                    -- an attempt in flight decides (finish_deliveries): it may
                                    -- succeed (found by a review: disabled after a success)
                                    AND NOT EXISTS (SELECT 1 FROM arxos.webhook_deliveries d
                                                     WHERE d.webhook_id = x.id AND d.status = 'delivering')
                                  ORDER BY x.id
                                    FOR NO KEY UPDATE SKIP LOCKED))
        RETURNING w.*
    )
    SELECT arxos.webhooks_disabled(array_agg(o.id), array_agg(o.disabled_reason)) INTO disabled FROM off o;
    RETURN disabled;
END
$$;

-------------------------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------------------------

-- arxos_api reaches webhooks only through the management functions (which never return a
-- stored secret); the delivery functions are the shim's own.
REVOKE ALL ON arxos.webhooks, arxos.webhook_cursor, arxos.webhook_deliveries,
              arxos.webhook_attempts FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION arxos.enqueue_deliveries(integer),
                           arxos.claim_deliveries(text, integer, interval, integer, bigint),
                           arxos.finish_deliveries(text, jsonb, interval[], interval),
                           arxos.disable_failing_webhooks(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION arxos.enqueue_deliveries(integer),
                          arxos.claim_deliveries(text, integer, interval, integer, bigint),
                          arxos.finish_deliveries(text, jsonb, interval[], interval),
                          arxos.disable_failing_webhooks(interval)
      TO arxos_authenticator;
GRANT EXECUTE ON FUNCTION arxos.event_object_type(arxos.events), arxos.event_json(arxos.events),
                          arxos.event_other_path(arxos.events), arxos.event_old_type(arxos.events),
                          arxos.event_matches(arxos.events, text[], uuid, text, text),
                          arxos.webhook_json(arxos.webhooks), arxos.webhook_check_types(text[]),
                          arxos.create_webhook(text, text[], text, text, text, text, boolean),
                          arxos.list_webhooks(text, integer), arxos.get_webhook(uuid),
                          arxos.patch_webhook(uuid, jsonb), arxos.delete_webhook(uuid),
                          arxos.rotate_webhook_secret(uuid, interval), arxos.test_webhook(uuid),
                          arxos.webhook_delivery_json(arxos.webhook_deliveries),
                          arxos.webhook_deliveries(uuid, text, bigint, integer),
                          arxos.retry_webhook_delivery(uuid, bigint),
                          arxos.webhooks_follow_key(uuid[])
      TO arxos_api;
REVOKE EXECUTE ON FUNCTION arxos.webhook_new_secret() FROM PUBLIC;
-- The webhook functions' JSON (what psql shows, and a test message's stored body, which its
-- receiver gets) writes times in UTC whatever the caller's TimeZone, as the events do (found by
-- an audit: test_webhook stored the caller's offset in the body).
ALTER FUNCTION arxos.create_webhook(text, text[], text, text, text, text, boolean) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.list_webhooks(text, integer) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.get_webhook(uuid) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.patch_webhook(uuid, jsonb) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.rotate_webhook_secret(uuid, interval) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.test_webhook(uuid) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.webhook_deliveries(uuid, text, bigint, integer) SET TimeZone = 'UTC';
ALTER FUNCTION arxos.retry_webhook_delivery(uuid, bigint) SET TimeZone = 'UTC';
-- The shim's own background work outside requests: the listener reads the outbox and
-- registers itself, the ticker runs arxos.tick().
GRANT SELECT ON arxos.events, arxos.event_counter, arxos.event_horizon, arxos.key_generation, arxos.buildings, arxos.objects TO arxos_authenticator;
GRANT SELECT, INSERT, UPDATE, DELETE ON arxos.listeners TO arxos_authenticator;
