-- ArxOS schema, part 9: contributors, contributions, the token ledger (see docs/market.md).
--
-- The economic loop: physical work → arxos.contribute() (validation, object writes, rating
-- impact, reward) → arxos.verify_contribution() (re-reward, reputation, badges, the rating's
-- verified input) → arxos.transfer(). Tokens live in a double-entry, append-only ledger: one
-- mint account per building, one holding account per (contributor, building). Holding balances
-- are kept on the account row by the ledger-entry trigger under CHECK (balance >= 0);
-- arxos.ledger_check() recomputes everything from the entries.
--
-- Locks: contribute and verify_contribution first take the building's mark (arxos.lock_mark);
-- every function that changes a contributor's tokens or counters then locks the contributor
-- rows it needs, in id order (arxos.lock_contributors). Holding accounts are only written
-- under their contributor's lock, and a mint account only by lock_mark's update that changes
-- nothing (its balance is derived), so concurrent single calls queue instead of deadlocking.
--
-- Validation failures raise SQLSTATEs of class AX (table in docs/market.md); acting for a
-- contributor one does not own raises 42501.

-------------------------------------------------------------------------------------------------
-- Settings and per-type rules (both editable by a DBA)
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.market_settings (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    rate_limit   integer CHECK (rate_limit > 0),
    -- above 0 and at most 1000 years, as every period (arxos.check_period): now() - rate_window
    -- must stay a time, or every contribution would fail on it
    rate_window  interval NOT NULL DEFAULT '1 hour'
                 CONSTRAINT market_rate_window_range
                 CHECK (rate_window > interval '0' AND rate_window <= interval '1000 years'),
    max_changes  integer NOT NULL DEFAULT 1000 CHECK (max_changes > 0)
);
COMMENT ON TABLE arxos.market_settings IS
    'rate_limit: contributions per contributor and building within rate_window (NULL = no limit); '
    'max_changes: object writes (puts + connections) one contribution may carry.';
INSERT INTO arxos.market_settings (rate_limit) VALUES (60);

-- True for the contribution types of arxos.contribution_types().
CREATE FUNCTION arxos.contribution_type_known(type text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM arxos.contribution_types() t WHERE t.type = $1)
$$;

CREATE TABLE arxos.contribution_rules (
    type        text PRIMARY KEY CHECK (arxos.contribution_type_known(type)),
    needs_path  boolean NOT NULL DEFAULT false,
    required    text[] NOT NULL DEFAULT '{}',
    recommended text[] NOT NULL DEFAULT '{}',
    free_text   text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE arxos.contribution_rules IS
    'Per contribution type: needs_path (the contribution names the object it is about), required '
    'metadata fields, recommended ones (they make the quality), free-text ones (erased by forget_contributor).';
INSERT INTO arxos.contribution_rules (type, needs_path, required, recommended, free_text) VALUES
    ('floor_plan_upload',     false, '{floor}',                   '{scale,format}',     '{}'),
    ('bim_model_update',      false, '{model_version}',           '{format,software}',  '{}'),
    ('sensor_installation',   false, '{sensor}',                  '{model,measures}',   '{}'),
    ('photo_documentation',   false, '{image_hash,captured_at}',  '{caption,device}',   '{caption}'),
    ('object_documentation',  true,  '{}',                        '{notes}',            '{notes}'),
    ('maintenance_record',    true,  '{performed_at}',            '{work,notes}',       '{work,notes}'),
    ('quality_improvement',   true,  '{}',                        '{notes}',            '{notes}'),
    ('property_enrichment',   true,  '{}',                        '{source}',           '{}'),
    ('verification_activity', true,  '{}',                        '{notes}',            '{notes}');

-------------------------------------------------------------------------------------------------
-- Contributors and badges
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.contributors (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    handle                 text NOT NULL UNIQUE
                           CONSTRAINT contributor_handle_format CHECK (handle ~ '^[a-z0-9][a-z0-9_.-]{2,39}$' AND NOT arxos.uuid_shaped(handle)),
    display_name           text NOT NULL CONSTRAINT contributor_display_name_format
                           CHECK (arxos.is_label(display_name, 100)),
    owner                  text NOT NULL DEFAULT arxos.current_actor(),
    reputation             numeric(10, 6) NOT NULL DEFAULT 0 CHECK (reputation BETWEEN 0 AND 1000),
    trust_level            text GENERATED ALWAYS AS (arxos.trust_level(reputation::double precision)) STORED,
    registration_rank      bigint NOT NULL UNIQUE,
    contributions          bigint NOT NULL DEFAULT 0 CHECK (contributions >= 0),
    verified_contributions bigint NOT NULL DEFAULT 0 CHECK (verified_contributions >= 0),
    rejected_contributions bigint NOT NULL DEFAULT 0 CHECK (rejected_contributions >= 0),
    verifications_given    bigint NOT NULL DEFAULT 0 CHECK (verifications_given >= 0),
    objects_documented     bigint NOT NULL DEFAULT 0 CHECK (objects_documented >= 0),
    buildings_pioneered    bigint NOT NULL DEFAULT 0 CHECK (buildings_pioneered >= 0),
    joined_at              timestamptz NOT NULL DEFAULT now(),
    last_active_at         timestamptz NOT NULL DEFAULT now(),
    forgotten_at           timestamptz
);
COMMENT ON TABLE arxos.contributors IS
    'People (or bots) who contribute. owner is the actor that registered the row and may act for it.';
COMMENT ON COLUMN arxos.contributors.verified_contributions IS
    'Contributions whose current status is auto_verified, peer_verified or expert_verified.';

CREATE TABLE arxos.contributor_badges (
    contributor_id uuid NOT NULL REFERENCES arxos.contributors(id),
    badge          text NOT NULL,
    why            text NOT NULL,
    earned_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contributor_id, badge)
);

-- Registration ranks are handed out in commit order without gaps: registrations queue on
-- their serialisation point's row (they are rare), and the rank is one more than the larger of
-- the row's `value` (the last rank taken: a rank of a contributor deleted since is not handed
-- out again) and the largest rank a contributor has (after a restore of a dump older than the
-- row). The row is locked FOR UPDATE here and written only once a contributor is inserted
-- (contributors_rank_taken): an INSERT … ON CONFLICT DO NOTHING that inserts nothing, whose
-- BEFORE trigger still ran, leaves no gap; and a REPEATABLE READ registration whose snapshot
-- predates another's commit finds the row changed and is refused with 40001 (retry), where
-- a max() over its snapshot would repeat a rank (23505 on the unique rank). Only the
-- triggers below, which run as the owner, call it.
CREATE FUNCTION arxos.next_registration_rank() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    v bigint;
BEGIN
    INSERT INTO arxos.serial_locks (name) VALUES ('registration_rank') ON CONFLICT DO NOTHING;
    SELECT s.value INTO v FROM arxos.serial_locks s WHERE s.name = 'registration_rank' FOR UPDATE;
    -- (a statement of its own: under READ COMMITTED its snapshot has what committed while the
    -- lock was waited for)
    RETURN greatest(v, coalesce((SELECT max(c.registration_rank) FROM arxos.contributors c), 0)) + 1;
END
$$;

CREATE FUNCTION arxos.contributors_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    NEW.registration_rank := arxos.next_registration_rank();
    NEW.joined_at := now();
    NEW.last_active_at := now();
    RETURN NEW;
END
$$;
ALTER FUNCTION arxos.contributors_before_insert() SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;

-- The rank a new contributor took, recorded once it is inserted (see next_registration_rank).
CREATE FUNCTION arxos.contributors_rank_taken() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    UPDATE arxos.serial_locks s SET value = greatest(s.value, NEW.registration_rank)
     WHERE s.name = 'registration_rank';
    RETURN NULL;
END
$$;
CREATE TRIGGER contributors_rank_taken AFTER INSERT ON arxos.contributors
    FOR EACH ROW EXECUTE FUNCTION arxos.contributors_rank_taken();
CREATE TRIGGER contributors_before_insert BEFORE INSERT ON arxos.contributors
    FOR EACH ROW EXECUTE FUNCTION arxos.contributors_before_insert();

-- Awards the badges whose rules hold now and that the contributor does not hold yet. Runs on
-- every change of the counters, whoever makes it, so badges follow plain UPDATEs too.
CREATE FUNCTION arxos.contributors_award_badges() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO arxos.contributor_badges (contributor_id, badge, why)
    SELECT NEW.id, e.badge, e.why
      FROM arxos.badges_earned(NEW.contributions, NEW.verified_contributions, NEW.verifications_given,
                               NEW.objects_documented, NEW.registration_rank, NEW.buildings_pioneered > 0) e
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER contributors_badges_on_insert AFTER INSERT ON arxos.contributors
    FOR EACH ROW EXECUTE FUNCTION arxos.contributors_award_badges();
CREATE TRIGGER contributors_badges_on_update AFTER UPDATE ON arxos.contributors
    FOR EACH ROW
    WHEN ((OLD.contributions, OLD.verified_contributions, OLD.verifications_given, OLD.objects_documented,
           OLD.registration_rank, OLD.buildings_pioneered)
          IS DISTINCT FROM
          (NEW.contributions, NEW.verified_contributions, NEW.verifications_given, NEW.objects_documented,
           NEW.registration_rank, NEW.buildings_pioneered))
    EXECUTE FUNCTION arxos.contributors_award_badges();

-------------------------------------------------------------------------------------------------
-- Contributions
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.contributions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    building_id          uuid NOT NULL REFERENCES arxos.buildings(id),
    contributor_id       uuid NOT NULL REFERENCES arxos.contributors(id),
    type                 text NOT NULL CHECK (arxos.contribution_type_known(type)),
    data_hash            text NOT NULL CONSTRAINT contribution_data_hash_format CHECK (data_hash ~ '^[0-9a-f]{64}$'),
    path                 text COLLATE "C",
    object_id            uuid,
    metadata             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    changes              jsonb,
    quality              numeric(4, 3) NOT NULL CHECK (quality BETWEEN 0 AND 1),
    trust_level          text NOT NULL,
    old_grade            text NOT NULL,
    new_grade            text NOT NULL,
    old_score            numeric(6, 3) NOT NULL,
    new_score            numeric(6, 3) NOT NULL,
    -- The score points the impact bonus pays for: what new_score adds above the highest score
    -- the building had with an earlier contribution that was not rejected or kept its tokens
    -- (before or after it), so lowering a score and raising it again pays nothing twice.
    bonus_gain           numeric(6, 3) NOT NULL DEFAULT 0 CHECK (bonus_gain >= 0),
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'auto_verified', 'peer_verified', 'expert_verified', 'rejected')),
    reward               numeric(20, 6) NOT NULL DEFAULT 0 CHECK (reward >= 0),
    tokens_earned        numeric(20, 6) NOT NULL DEFAULT 0,
    -- The reputation this contribution has moved its contributor by, after clamping: a status
    -- change moves reputation by the new status's delta minus this (as rewards pay the
    -- difference to what was booked), so cycling a status cannot pump reputation past the
    -- deltas of the statuses contributions have now.
    reputation_applied   numeric(10, 6) NOT NULL DEFAULT 0,
    first_reward         numeric(20, 6),
    first_transaction_id bigint,
    idempotency_key      text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    verifier_id          uuid REFERENCES arxos.contributors(id),
    -- Its status was last set by verify_contribution with a status that needs trust (peer,
    -- expert, rejected) and a verifier of another owner than its contributor's, as the owners
    -- were then (forget_contributor rewrites owners later): what arxos.verifier_standing counts.
    judged_across_owners boolean NOT NULL DEFAULT false,
    -- Its status was last set by verify_contribution with a verifier of the same owner as its
    -- contributor (one API key's identities): such a verification does not count in the
    -- rating's V30 (verified_in_window), or an owner could verify its own junk into a grade.
    verified_by_same_owner boolean NOT NULL DEFAULT false,
    verified_at          timestamptz,
    status_changed_at    timestamptz NOT NULL DEFAULT now(),
    actor                text NOT NULL DEFAULT arxos.current_actor(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contribution_data_hash_unique UNIQUE (building_id, data_hash),
    CONSTRAINT contribution_idempotency_unique UNIQUE (contributor_id, idempotency_key)
);
COMMENT ON TABLE arxos.contributions IS
    'Recorded work. Make them with arxos.contribute() and change their status with arxos.verify_contribution().';
COMMENT ON COLUMN arxos.contributions.reward IS 'The reward of the current status (docs/market.md).';
COMMENT ON COLUMN arxos.contributions.tokens_earned IS
    'Net tokens booked to the contributor for this contribution; below reward only after a capped claw-back.';
COMMENT ON COLUMN arxos.contributions.verified_at IS
    'When the contribution last became verified (auto, peer or expert); NULL while it is not. The rating''s V30 counts it unless verified_by_same_owner.';
CREATE INDEX contributions_rate ON arxos.contributions (contributor_id, building_id, created_at);
CREATE INDEX contributions_building ON arxos.contributions (building_id, created_at, id);
-- The listing's order (GET /api/contributions: newest first, ties by id), read backwards.
CREATE INDEX contributions_created ON arxos.contributions (created_at, id);
CREATE INDEX contributions_verified ON arxos.contributions (building_id, verified_at)
    WHERE verified_at IS NOT NULL AND NOT verified_by_same_owner;
CREATE INDEX contributions_pending ON arxos.contributions (building_id, created_at) WHERE status = 'pending';
-- The impact bonus's high-water mark (contribute): the highest score a building had with a
-- contribution that was not rejected, or was rejected but kept tokens (its contributor had
-- moved them away before the claw-back), one index probe each.
CREATE INDEX contributions_old_score ON arxos.contributions (building_id, old_score)
    WHERE status <> 'rejected' OR tokens_earned > 0;
CREATE INDEX contributions_new_score ON arxos.contributions (building_id, new_score)
    WHERE status <> 'rejected' OR tokens_earned > 0;

-- The object paths each contributor's contributions have written (changes.puts), once each:
-- objects_documented counts the rows (a path written again adds nothing).
CREATE TABLE arxos.documented_objects (
    contributor_id uuid NOT NULL REFERENCES arxos.contributors(id),
    building_id    uuid NOT NULL REFERENCES arxos.buildings(id),
    path           text COLLATE "C" NOT NULL,
    contribution_id uuid NOT NULL REFERENCES arxos.contributions(id),
    PRIMARY KEY (contributor_id, building_id, path)
);

-- The first contribution to each building (the building_pioneer badge).
CREATE TABLE arxos.building_pioneers (
    building_id     uuid PRIMARY KEY REFERENCES arxos.buildings(id),
    contributor_id  uuid NOT NULL REFERENCES arxos.contributors(id),
    contribution_id uuid NOT NULL REFERENCES arxos.contributions(id),
    at              timestamptz NOT NULL DEFAULT now()
);

-- What the ledger has paid a contribution's contributor for it: its reward transactions'
-- entries on the contributor's holding (claw-backs negative). tokens_earned is always this.
CREATE FUNCTION arxos.contribution_booked(contribution uuid, contributor uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(e.amount), 0)
      FROM arxos.ledger_transactions t
      JOIN arxos.ledger_entries e ON e.transaction_id = t.id
      JOIN arxos.accounts a ON a.id = e.account_id
     WHERE t.contribution_id = contribution AND t.kind = 'reward' AND a.contributor_id = contributor
$$;

-- What was recorded about a contribution cannot change; its status (and what follows from it),
-- and the personal fields forget_contributor erases, can. verified_at is derived here.
-- A contribution that sets no high-water mark (arxos.score_mark): rejected, with every token
-- it was paid clawed back.
CREATE FUNCTION arxos.sets_no_mark(c arxos.contributions) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT c.status = 'rejected' AND c.tokens_earned <= 0
$$;

-- tokens_earned follows the ledger: it starts at 0 and changes only to what the reward
-- transactions booked (a later verification pays the difference between the new status's
-- reward and tokens_earned, so a hand-lowered tokens_earned would pay again).
CREATE FUNCTION arxos.contributions_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    was boolean := TG_OP = 'UPDATE' AND arxos.verification_counts(OLD.status);
    now_verified boolean := arxos.verification_counts(NEW.status);
BEGIN
    IF TG_OP = 'UPDATE' AND
       (NEW.id, NEW.building_id, NEW.contributor_id, NEW.type, NEW.data_hash, NEW.path, NEW.quality,
        NEW.trust_level, NEW.old_grade, NEW.new_grade, NEW.old_score, NEW.new_score,
        NEW.idempotency_key, NEW.created_at, NEW.changes)
       IS DISTINCT FROM
       (OLD.id, OLD.building_id, OLD.contributor_id, OLD.type, OLD.data_hash, OLD.path, OLD.quality,
        OLD.trust_level, OLD.old_grade, OLD.new_grade, OLD.old_score, OLD.new_score,
        OLD.idempotency_key, OLD.created_at, OLD.changes)
       -- bonus_gain only goes down, and only as a contribution that holds none of its tokens
       -- is paid again (verify_contribution: the points others were paid for meanwhile are
       -- not paid twice)
       OR (NEW.bonus_gain IS DISTINCT FROM OLD.bonus_gain
           AND NOT (OLD.tokens_earned <= 0 AND NEW.status <> 'rejected' AND NEW.bonus_gain < OLD.bonus_gain))
       OR (OLD.first_transaction_id IS NOT NULL
           AND (NEW.first_reward, NEW.first_transaction_id) IS DISTINCT FROM (OLD.first_reward, OLD.first_transaction_id)) THEN
        RAISE EXCEPTION 'what a contribution recorded (building, contributor, type, data hash, path, changes, quality, rating impact, first reward) cannot change (bonus_gain only goes down when a contribution that holds none of its tokens is paid again)'
            USING ERRCODE = 'AX023', HINT = 'change its status with arxos.verify_contribution(id, verifier, status)';
    END IF;
    -- The first reward is set once, by the first booking (contribute's), to the pending reward
    -- of what the contribution recorded: ledger_check's overpaid_contribution bounds what a
    -- contribution may have been paid by it, so a first_reward written by hand would hide
    -- tokens booked by hand (found by a market review: 5,000,000 with a matching first_reward).
    IF TG_OP = 'INSERT' AND (NEW.first_reward, NEW.first_transaction_id) IS DISTINCT FROM (NULL, NULL) THEN
        RAISE EXCEPTION 'first_reward and first_transaction_id of a new contribution are set by its first reward booking'
            USING ERRCODE = 'AX023', HINT = 'record contributions with arxos.contribute';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.first_transaction_id IS NULL
       AND (NEW.first_reward, NEW.first_transaction_id) IS DISTINCT FROM (OLD.first_reward, OLD.first_transaction_id)
       AND (NEW.first_transaction_id IS NULL
            OR NEW.first_reward IS DISTINCT FROM arxos.contribution_reward_for(NEW, 'pending')) THEN
        RAISE EXCEPTION 'first_reward of contribution % is its pending reward (%) with the transaction that booked it, not %',
            NEW.id, arxos.contribution_reward_for(NEW, 'pending'), coalesce(NEW.first_reward::text, 'NULL')
            USING ERRCODE = 'AX023', HINT = 'rewards are booked by arxos.contribute and arxos.verify_contribution';
    END IF;
    -- Metadata is a stored document (depth, numbers: arxos.check_json); an equal one written
    -- another way (`0e-16383` for `0`) is no change, and the stored one stays.
    IF TG_OP = 'UPDATE' AND NEW.metadata IS NOT DISTINCT FROM OLD.metadata THEN
        NEW.metadata := OLD.metadata;
    ELSE
        PERFORM arxos.check_json('metadata', NEW.metadata);
    END IF;
    -- The reward of the status it has: derived, whatever a statement writes.
    NEW.reward := arxos.contribution_reward_for(NEW, NEW.status);
    IF (TG_OP = 'INSERT' AND NEW.tokens_earned <> 0)
       OR (TG_OP = 'UPDATE' AND NEW.tokens_earned IS DISTINCT FROM OLD.tokens_earned
           AND NEW.tokens_earned <> arxos.contribution_booked(NEW.id, NEW.contributor_id)) THEN
        RAISE EXCEPTION 'tokens_earned of contribution % must be what its reward transactions booked (%), not %',
            NEW.id, CASE WHEN TG_OP = 'INSERT' THEN 0::numeric(20, 6) ELSE arxos.contribution_booked(NEW.id, NEW.contributor_id) END,
            NEW.tokens_earned
            USING ERRCODE = 'AX023', HINT = 'rewards are booked by arxos.contribute and arxos.verify_contribution';
    END IF;
    IF NOT now_verified THEN
        NEW.verified_at := NULL;
    ELSIF NOT was THEN
        NEW.verified_at := now();
    ELSE
        NEW.verified_at := OLD.verified_at;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.status <> OLD.status THEN
        NEW.status_changed_at := now();
    END IF;
    -- Judged across owners (arxos.verifier_standing) only by verify_contribution: a new row
    -- is not, nor one pending or auto_verified (statuses that need no trust), whatever a
    -- statement writes. (A DBA's other status change keeps what was recorded, or sets it.)
    IF TG_OP = 'INSERT' OR NEW.status IN ('pending', 'auto_verified') THEN
        NEW.judged_across_owners := false;
    END IF;
    -- A new row was verified by nobody yet (a DBA's INSERT of a verified row counts).
    IF TG_OP = 'INSERT' THEN
        NEW.verified_by_same_owner := false;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER contributions_before_write BEFORE INSERT OR UPDATE ON arxos.contributions
    FOR EACH ROW EXECUTE FUNCTION arxos.contributions_before_write();

-- Keeps the rating's verified-contributions input in step with the contributions, for any
-- INSERT, UPDATE or DELETE: a rating delta the sequencer folds and records. Keeps the
-- contributor's verified and rejected counters too, so a DBA's plain UPDATE of a status moves
-- them as verify_contribution does.
CREATE FUNCTION arxos.contributions_after_write() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    verified integer := 0;
    rejected integer := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        verified := arxos.verification_counts(NEW.status)::int;
        rejected := (NEW.status = 'rejected')::int;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        verified := verified - arxos.verification_counts(OLD.status)::int;
        rejected := rejected - (OLD.status = 'rejected')::int;
    END IF;
    IF verified <> 0 OR rejected <> 0 THEN
        -- contributor_id cannot change (contributions_before_write)
        UPDATE arxos.contributors c
           SET verified_contributions = c.verified_contributions + verified,
               rejected_contributions = c.rejected_contributions + rejected
         WHERE c.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.contributor_id ELSE NEW.contributor_id END;
    END IF;
    -- V30 counts a contribution on the day it became verified, unless an identity of its own
    -- contributor's owner verified it (arxos.verified_in_window).
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.verified_at IS NOT NULL AND NOT OLD.verified_by_same_owner
       AND (TG_OP = 'DELETE' OR NEW.verified_at IS DISTINCT FROM OLD.verified_at OR NEW.verified_by_same_owner) THEN
        INSERT INTO arxos.rating_deltas (building_id, day, verified, reason, object_path, contribution_id)
        VALUES (OLD.building_id, arxos.utc_day(OLD.verified_at), -1, 'contribution_verified', OLD.path, OLD.id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.verified_at IS NOT NULL AND NOT NEW.verified_by_same_owner
       AND (TG_OP = 'INSERT' OR NEW.verified_at IS DISTINCT FROM OLD.verified_at OR OLD.verified_by_same_owner) THEN
        INSERT INTO arxos.rating_deltas (building_id, day, verified, reason, object_path, contribution_id)
        VALUES (NEW.building_id, arxos.utc_day(NEW.verified_at), 1, 'contribution_verified', NEW.path, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contributions_after_write AFTER INSERT OR UPDATE OR DELETE ON arxos.contributions
    FOR EACH ROW EXECUTE FUNCTION arxos.contributions_after_write();

-- The rating oracle's V30: contributions of the building whose current status counts as
-- verified, set by a verifier of another owner (or a DBA), and that became verified on one of
-- the 30 UTC days ending with at's day.
CREATE OR REPLACE FUNCTION arxos.verified_in_window(building uuid, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*)
      FROM arxos.contributions c
     WHERE c.building_id = verified_in_window.building
       AND c.verified_at IS NOT NULL AND NOT c.verified_by_same_owner
       AND arxos.utc_day(c.verified_at) > arxos.utc_day(verified_in_window.at) - 30
       AND arxos.utc_day(c.verified_at) <= arxos.utc_day(verified_in_window.at)
$$;

-------------------------------------------------------------------------------------------------
-- Verifications (one row per status change made by arxos.verify_contribution)
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.verifications (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contribution_id         uuid NOT NULL REFERENCES arxos.contributions(id),
    verifier_id             uuid NOT NULL REFERENCES arxos.contributors(id),
    old_status              text NOT NULL
                            CHECK (old_status IN ('pending', 'auto_verified', 'peer_verified', 'expert_verified', 'rejected')),
    new_status              text NOT NULL
                            CHECK (new_status IN ('auto_verified', 'peer_verified', 'expert_verified', 'rejected')),
    tokens_delta            numeric(20, 6) NOT NULL,
    verifier_reward         numeric(20, 6) NOT NULL DEFAULT 0 CHECK (verifier_reward >= 0),
    transaction_id          bigint,
    verifier_transaction_id bigint,
    actor                   text NOT NULL DEFAULT arxos.current_actor(),
    at                      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verifications_contribution ON arxos.verifications (contribution_id, verifier_id);
CREATE INDEX verifications_verifier ON arxos.verifications (verifier_id);

-------------------------------------------------------------------------------------------------
-- The ledger
-------------------------------------------------------------------------------------------------

-- A mint account per building (contributor_id NULL, no stored balance: it is minus what the
-- building minted) and a holding per (contributor, building) with its balance and what it
-- earned (rewards net of claw-backs, without transfers), both kept by the entry trigger.
CREATE TABLE arxos.accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id    uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    contributor_id uuid REFERENCES arxos.contributors(id),
    balance        numeric(20, 6),
    earned         numeric(20, 6),
    CONSTRAINT account_kind CHECK ((contributor_id IS NULL) = (balance IS NULL)
                                   AND (balance IS NULL) = (earned IS NULL)),
    CONSTRAINT holding_not_negative CHECK (balance >= 0),
    CONSTRAINT account_unique UNIQUE NULLS NOT DISTINCT (building_id, contributor_id)
);
CREATE INDEX accounts_contributor ON arxos.accounts (contributor_id, building_id);

CREATE TABLE arxos.ledger_transactions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('reward', 'verifier_reward', 'transfer')),
    building_id     uuid REFERENCES arxos.buildings(id),
    contribution_id uuid REFERENCES arxos.contributions(id),
    memo            text CHECK (length(memo) <= 500),
    actor           text NOT NULL DEFAULT arxos.current_actor(),
    at              timestamptz NOT NULL DEFAULT now(),
    -- A transfer sent with an idempotency key, and its sender: a retry with the same key books
    -- nothing and answers this transaction (arxos.transfer).
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    idempotent_for  uuid REFERENCES arxos.contributors(id),
    CONSTRAINT ledger_transaction_reference CHECK ((kind = 'transfer') = (contribution_id IS NULL)),
    CONSTRAINT ledger_transaction_idempotency CHECK ((idempotency_key IS NULL) = (idempotent_for IS NULL)
                                                     AND (idempotency_key IS NULL OR kind = 'transfer')),
    CONSTRAINT ledger_transaction_idempotency_unique UNIQUE (idempotent_for, idempotency_key)
);
COMMENT ON TABLE arxos.ledger_transactions IS
    'Append-only. building_id is NULL only for a transfer that moved tokens of several buildings.';
CREATE INDEX ledger_transactions_contribution ON arxos.ledger_transactions (contribution_id);

CREATE TABLE arxos.ledger_entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES arxos.ledger_transactions(id),
    account_id     bigint NOT NULL REFERENCES arxos.accounts(id),
    amount         numeric(20, 6) NOT NULL CHECK (amount <> 0)
);
COMMENT ON TABLE arxos.ledger_entries IS
    'Append-only. The entries of a transaction sum to zero per building (checked at commit).';
CREATE INDEX ledger_entries_transaction ON arxos.ledger_entries (transaction_id);
-- by account, newest transaction first: a contributor's statement (arxos.statement)
CREATE INDEX ledger_entries_account ON arxos.ledger_entries (account_id, transaction_id);

ALTER TABLE arxos.contributions ADD CONSTRAINT contribution_first_transaction
    FOREIGN KEY (first_transaction_id) REFERENCES arxos.ledger_transactions(id);
ALTER TABLE arxos.verifications ADD CONSTRAINT verification_transaction
    FOREIGN KEY (transaction_id) REFERENCES arxos.ledger_transactions(id);
ALTER TABLE arxos.verifications ADD CONSTRAINT verification_verifier_transaction
    FOREIGN KEY (verifier_transaction_id) REFERENCES arxos.ledger_transactions(id);

-- Every building gets its mint account when it is created.
CREATE FUNCTION arxos.buildings_create_mint() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO arxos.accounts (building_id) SELECT n.id FROM new_rows n
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER buildings_create_mint AFTER INSERT ON arxos.buildings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.buildings_create_mint();
INSERT INTO arxos.accounts (building_id) SELECT b.id FROM arxos.buildings b ON CONFLICT DO NOTHING;

-- A building whose tokens were minted cannot be deleted: they are in people's accounts.
CREATE FUNCTION arxos.buildings_before_delete_market() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF EXISTS (SELECT 1 FROM arxos.contributions c WHERE c.building_id = OLD.id)
       OR EXISTS (SELECT 1 FROM arxos.ledger_transactions t WHERE t.building_id = OLD.id) THEN
        RAISE EXCEPTION 'building % has contributions and a token ledger; it cannot be deleted', OLD.key
            USING ERRCODE = '23503', HINT = 'the ledger is append-only: tokens minted for a building stay accounted for';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER buildings_before_delete_market BEFORE DELETE ON arxos.buildings
    FOR EACH ROW EXECUTE FUNCTION arxos.buildings_before_delete_market();

-- A ledger transaction's time is the database transaction's that booked it (now()), so that
-- its entries can be told apart from entries added to it later.
CREATE FUNCTION arxos.ledger_transactions_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_transactions_before_insert BEFORE INSERT ON arxos.ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION arxos.ledger_transactions_before_insert();

-- Holding balances move with their entries; CHECK (balance >= 0) refuses an overdraft.
-- Entries are booked with their transaction, in the same database transaction: one committed
-- earlier is closed (its time is not this transaction's now()).
CREATE FUNCTION arxos.ledger_entries_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT 1 FROM arxos.ledger_transactions t
                    WHERE t.id = NEW.transaction_id AND t.at = now()) THEN
        RAISE EXCEPTION 'ledger transaction % was booked earlier: entries cannot be added to it', NEW.transaction_id
            USING ERRCODE = 'AX023', HINT = 'book a correcting transaction instead';
    END IF;
    -- What ledger_check reports as misdirected_entry, refused when booked: a transfer moves
    -- tokens between holdings (on a mint it would create tokens nobody earned), a reward
    -- between its building's mint and holdings.
    IF EXISTS (SELECT 1 FROM arxos.ledger_transactions t, arxos.accounts a
                WHERE t.id = NEW.transaction_id AND a.id = NEW.account_id
                  AND ((t.kind = 'transfer' AND a.contributor_id IS NULL)
                       OR (t.kind <> 'transfer' AND a.building_id IS DISTINCT FROM t.building_id))) THEN
        RAISE EXCEPTION 'ledger transaction % cannot book an entry on account %: a transfer moves tokens between holdings only, a reward between its building''s mint and holdings',
            NEW.transaction_id, NEW.account_id
            USING ERRCODE = 'AX024', HINT = 'transfer tokens with arxos.transfer()';
    END IF;
    UPDATE arxos.accounts a
       SET balance = a.balance + NEW.amount,
           earned = a.earned + CASE WHEN t.kind = 'transfer' THEN 0 ELSE NEW.amount END
      FROM arxos.ledger_transactions t
     WHERE a.id = NEW.account_id AND a.contributor_id IS NOT NULL AND t.id = NEW.transaction_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_after_insert AFTER INSERT ON arxos.ledger_entries
    FOR EACH ROW EXECUTE FUNCTION arxos.ledger_entries_after_insert();

-- At commit: a transaction has at least two entries and they sum to zero for each building.
CREATE FUNCTION arxos.ledger_transaction_check() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tx  bigint;
    bad record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entries' THEN
        tx := NEW.transaction_id;
    ELSE
        tx := NEW.id;
    END IF;
    IF (SELECT count(*) FROM arxos.ledger_entries e WHERE e.transaction_id = tx) < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has fewer than two entries', tx USING ERRCODE = 'AX024';
    END IF;
    SELECT a.building_id, sum(e.amount) AS total INTO bad
      FROM arxos.ledger_entries e JOIN arxos.accounts a ON a.id = e.account_id
     WHERE e.transaction_id = tx
     GROUP BY a.building_id HAVING sum(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: its entries for building % sum to %',
            tx, bad.building_id, bad.total USING ERRCODE = 'AX024';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON arxos.ledger_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arxos.ledger_transaction_check();
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON arxos.ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arxos.ledger_transaction_check();

-- Append-only: entries never change; of a transaction only the memo and the actor may be
-- erased (forget_contributor). Mistakes are corrected by booking a new transaction.
CREATE FUNCTION arxos.ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'ledger_transactions' THEN
        -- erasing, not rewriting: a memo may only go (NULL), an actor only become a
        -- forgotten contributor's pseudonym (forget_contributor)
        IF (NEW.id, NEW.kind, NEW.building_id, NEW.contribution_id, NEW.at, NEW.idempotency_key, NEW.idempotent_for)
           IS NOT DISTINCT FROM (OLD.id, OLD.kind, OLD.building_id, OLD.contribution_id, OLD.at, OLD.idempotency_key,
                                 OLD.idempotent_for)
           AND (NEW.memo IS NULL OR NEW.memo IS NOT DISTINCT FROM OLD.memo)
           -- the pseudonym of a forgotten contributor whose owner the old actor is and whose
           -- tokens the transaction moved (forget_contributor rewrites the ledger after it
           -- marks the contributor forgotten and before it renames the owner; found by a
           -- review: any contributor of the same owner was accepted)
           AND (NEW.actor = OLD.actor
                OR EXISTS (SELECT 1 FROM arxos.contributors x
                             JOIN arxos.accounts a ON a.contributor_id = x.id
                             JOIN arxos.ledger_entries e ON e.account_id = a.id
                            WHERE e.transaction_id = OLD.id AND x.owner = OLD.actor
                              AND x.forgotten_at IS NOT NULL
                              AND NEW.actor = 'anon-' || replace(x.id::text, '-', ''))) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'AX023', HINT = 'book a correcting transaction instead';
END
$$;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON arxos.ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION arxos.ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON arxos.ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON arxos.ledger_entries
    FOR EACH ROW EXECUTE FUNCTION arxos.ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON arxos.ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.ledger_append_only();

-- Balances change only through ledger entries (the entry trigger runs at trigger depth 1, so
-- its UPDATE reaches this trigger at depth 2; a direct UPDATE arrives at depth 1). The API's
-- role may not update accounts at all (privileges, below): the entry trigger runs as the owner.
CREATE FUNCTION arxos.accounts_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF (NEW.id, NEW.building_id, NEW.contributor_id) IS DISTINCT FROM (OLD.id, OLD.building_id, OLD.contributor_id)
       OR (pg_trigger_depth() < 2
           AND (NEW.balance, NEW.earned) IS DISTINCT FROM (OLD.balance, OLD.earned)) THEN
        RAISE EXCEPTION 'account balances change only through ledger entries'
            USING ERRCODE = 'AX023', HINT = 'insert a balanced ledger transaction, or use arxos.transfer()';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER accounts_before_update BEFORE UPDATE ON arxos.accounts
    FOR EACH ROW EXECUTE FUNCTION arxos.accounts_before_update();

-- A holding starts empty: a plain INSERT with a balance would create tokens no ledger entry
-- minted (and arxos.transfer() would then spend them).
CREATE FUNCTION arxos.accounts_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contributor_id IS NOT NULL AND (NEW.balance <> 0 OR NEW.earned <> 0) THEN
        RAISE EXCEPTION 'a holding starts with balance and earned 0: balances change only through ledger entries'
            USING ERRCODE = 'AX023', HINT = 'insert a balanced ledger transaction, or use arxos.transfer()';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER accounts_before_insert BEFORE INSERT ON arxos.accounts
    FOR EACH ROW EXECUTE FUNCTION arxos.accounts_before_insert();

-- The account of a contributor in a building (contributor NULL: the building's mint); created
-- on first use. Each lookup is one probe of account_unique: `IS NOT DISTINCT FROM` is no index
-- condition, and read every account of the building (found by a review).
CREATE FUNCTION arxos.account(building uuid, contributor uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v bigint;
BEGIN
    FOR attempt IN 1..2 LOOP
        IF contributor IS NULL THEN
            SELECT a.id INTO v FROM arxos.accounts a
             WHERE a.building_id = account.building AND a.contributor_id IS NULL;
        ELSE
            SELECT a.id INTO v FROM arxos.accounts a
             WHERE a.building_id = account.building AND a.contributor_id = account.contributor;
        END IF;
        EXIT WHEN v IS NOT NULL OR attempt = 2;
        INSERT INTO arxos.accounts (building_id, contributor_id, balance, earned)
        VALUES (building, contributor,
                CASE WHEN contributor IS NOT NULL THEN 0 END, CASE WHEN contributor IS NOT NULL THEN 0 END)
        ON CONFLICT DO NOTHING
        RETURNING id INTO v;
        EXIT WHEN v IS NOT NULL;
    END LOOP;
    RETURN v;
END
$$;

-- Books one transaction: amounts[i] on accounts[i] (zero amounts are left out). Returns its id.
CREATE FUNCTION arxos.ledger_post(kind text, building uuid, contribution uuid, memo text,
                                  accounts bigint[], amounts numeric[],
                                  idempotency_key text DEFAULT NULL, idempotent_for uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    tx bigint;
BEGIN
    INSERT INTO arxos.ledger_transactions (kind, building_id, contribution_id, memo, idempotency_key, idempotent_for)
    VALUES (kind, building, contribution, memo, idempotency_key, idempotent_for)
    RETURNING id INTO tx;
    INSERT INTO arxos.ledger_entries (transaction_id, account_id, amount)
    SELECT tx, u.account, u.amount
      FROM unnest(accounts, amounts) WITH ORDINALITY AS u(account, amount, n)
     WHERE u.amount <> 0
     ORDER BY u.n;
    RETURN tx;
END
$$;

-------------------------------------------------------------------------------------------------
-- Helpers
-------------------------------------------------------------------------------------------------

-- A building by key or id; unknown → AX001.
CREATE FUNCTION arxos.market_building(building text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN arxos.building_id(building);
EXCEPTION WHEN no_data_found THEN
    RAISE EXCEPTION 'unknown building %', arxos.shown(building)
        USING ERRCODE = 'AX001', HINT = 'list buildings with: select key, name from arxos.buildings';
END
$$;

-- A contributor's id from its handle (or its id as text); unknown → AX002.
-- Text with its ASCII letters lowered and nothing else changed, whatever the locale.
CREATE FUNCTION arxos.ascii_lower(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
$$;

CREATE FUNCTION arxos.contributor_id(handle text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v uuid;
BEGIN
    IF arxos.uuid_shaped(handle) THEN
        SELECT c.id INTO v FROM arxos.contributors c WHERE c.id = contributor_id.handle::uuid;
    ELSE
        SELECT c.id INTO v FROM arxos.contributors c WHERE c.handle = arxos.ascii_lower(contributor_id.handle);
    END IF;
    IF v IS NULL THEN
        RAISE EXCEPTION 'unknown contributor %', arxos.shown(handle) USING ERRCODE = 'AX002';
    END IF;
    RETURN v;
END
$$;

-- Locks the contributors' rows, in id order, and returns them. Unknown → AX002; forgotten
-- contributors → AX002 unless allow_forgotten.
CREATE FUNCTION arxos.lock_contributors(ids uuid[], allow_forgotten boolean DEFAULT false,
                                        acting uuid DEFAULT NULL)
RETURNS SETOF arxos.contributors
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    c       arxos.contributors;
    missing uuid;
BEGIN
    -- The caller must act for `acting` (the sender, the contributor, the verifier): checked on
    -- an unlocked read before any row is locked, so that a caller acting for another owner's
    -- contributor is refused (42501) without first holding, in id order, the rows of others
    -- while it waits (a tenant held another's contributors that way). The caller checks again
    -- on the locked row; a forgotten one is the caller's to refuse (AX002).
    IF acting IS NOT NULL THEN
        PERFORM arxos.check_owner(x) FROM arxos.contributors x WHERE x.id = acting AND x.forgotten_at IS NULL;
    END IF;
    SELECT u.id INTO missing FROM unnest(ids) AS u(id)
     WHERE u.id IS NULL OR NOT EXISTS (SELECT 1 FROM arxos.contributors x WHERE x.id = u.id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown contributor %', coalesce(missing::text, 'NULL') USING ERRCODE = 'AX002';
    END IF;
    FOR c IN SELECT * FROM arxos.contributors x WHERE x.id = ANY (ids) ORDER BY x.id FOR UPDATE LOOP
        IF c.forgotten_at IS NOT NULL AND NOT allow_forgotten THEN
            RAISE EXCEPTION 'contributor % was forgotten', c.id
                USING ERRCODE = 'AX002', HINT = 'a forgotten contributor''s account is frozen';
        END IF;
        RETURN NEXT c;
    END LOOP;
END
$$;

-- Whether a contributor has used an idempotency key, in any building. contribute's own lookup
-- reads the contributions its caller may see (row-level security): a key used in a building
-- hidden from the caller must still be refused as reused (AX012), rather than fail as a
-- duplicate of data it never sent. Runs as the owner and answers only yes or no; contribute
-- has checked that its caller acts for the contributor (check_owner). (No owner check of its
-- own: inside a SECURITY DEFINER function the actor's fallback, the role, is the owner's.)
CREATE FUNCTION arxos.idempotency_key_used(contributor uuid, key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM arxos.contributions x
                    WHERE x.contributor_id = contributor AND x.idempotency_key = key)
$$;

-- Only the actor that registered a contributor (its owner) may act for it.
CREATE FUNCTION arxos.check_owner(c arxos.contributors) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF c.owner IS DISTINCT FROM arxos.current_actor() THEN
        RAISE EXCEPTION 'actor % may not act for contributor %', arxos.current_actor(), c.id
            USING ERRCODE = '42501',
                  HINT = 'only the actor that registered a contributor (its owner) may act for it';
    END IF;
END
$$;

-- Reputation plus a delta, clamped to 0..1000.
CREATE FUNCTION arxos.add_reputation(reputation numeric, delta double precision) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT arxos.clamp_reputation((reputation + delta::numeric)::double precision)::numeric(10, 6)
$$;

-- The reward of a contribution for a status, from what the contribution recorded.
CREATE FUNCTION arxos.contribution_reward_for(c arxos.contributions, status text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT arxos.contribution_reward(c.type, c.quality::double precision, status, c.trust_level,
                                     c.bonus_gain::double precision, c.new_grade)::numeric(20, 6)
$$;

-- The trust level a status change needs: auto_verified none, peer_verified and rejected
-- trusted, expert_verified expert.
CREATE FUNCTION arxos.status_required_trust(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'expert_verified' THEN 'expert'
                       WHEN 'peer_verified' THEN 'trusted'
                       WHEN 'rejected' THEN 'trusted'
                       ELSE 'newcomer' END
$$;

-- True when the metadata has a usable value for the key (not null, not an empty string,
-- array or object).
CREATE FUNCTION arxos.metadata_present(metadata jsonb, key text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(CASE jsonb_typeof(metadata -> key)
                        WHEN 'null' THEN false
                        -- blank in Unicode's sense: a no-break space says nothing either
                        -- (found by an audit: it raised the quality as a note)
                        WHEN 'string' THEN NOT arxos.is_blank(metadata ->> key)
                        WHEN 'array' THEN jsonb_array_length(metadata -> key) > 0
                        WHEN 'object' THEN metadata -> key <> '{}'
                        ELSE metadata ? key END, false)
$$;

-- text → timestamptz, NULL when it does not parse.
-- An ISO 8601 date or date and time (T or t, or a space, between them; an offset optional: a bare time is read in the session's
-- time zone), else NULL. PostgreSQL's own input would also take 'epoch', 'today', 'infinity'
-- and 'Jan 5 2024': not timestamps a client means to send.
CREATE FUNCTION arxos.try_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value !~ E'^\\s*\\d{4}-\\d\\d-\\d\\d([Tt ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*([Zz]|[+-]\\d\\d(:?\\d\\d)?)?)?\\s*$'
       -- a leap second (23:59:60), which PostgreSQL would read as the next minute
       OR value ~ E'[Tt ]\\d\\d:\\d\\d:60' THEN
        RETURN NULL;
    END IF;
    RETURN value::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_time_zone_displacement_value
          OR invalid_parameter_value THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION arxos.market_event(type text, building uuid, object uuid, path text, body jsonb)
RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body)
    VALUES (type, building, object, path, arxos.current_actor(), body);
$$;

-------------------------------------------------------------------------------------------------
-- Registration
-------------------------------------------------------------------------------------------------

CREATE FUNCTION arxos.register_contributor(handle text, display_name text) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    -- ASCII letters lowered only: lower() follows the locale, where the Kelvin sign (U+212A)
    -- becomes k and İ an i (found by an audit: those registered kelvin and istanbul)
    h text := arxos.ascii_lower(btrim(handle));
    v uuid;
BEGIN
    -- top: GET /api/contributors/top is the leaderboard, so a contributor of that handle
    -- could never be read by it.
    -- A handle shaped like a UUID would read as a contributor's id (contributor_id).
    IF h IS NULL OR h !~ '^[a-z0-9][a-z0-9_.-]{2,39}$' OR h LIKE 'anon-%' OR h = 'top'
       OR arxos.uuid_shaped(h) THEN
        RAISE EXCEPTION 'invalid handle %: use 3 to 40 lowercase ASCII letters (a-z), digits, ., - and _, starting with a letter or digit (anon- and top are reserved, and a handle may not look like a UUID)',
            arxos.shown(handle) USING ERRCODE = 'AX021';
    END IF;
    IF display_name IS NULL OR NOT arxos.is_label(btrim(display_name), 100) THEN
        RAISE EXCEPTION 'invalid display name: 1 to 100 characters, no space at either end, no control or invisible formatting characters' USING ERRCODE = 'AX021';
    END IF;
    INSERT INTO arxos.contributors (handle, display_name, owner)
    VALUES (h, btrim(display_name), arxos.current_actor())
    ON CONFLICT (handle) DO NOTHING
    RETURNING id INTO v;
    IF v IS NULL THEN
        RAISE EXCEPTION 'handle % is taken', h USING ERRCODE = 'AX022';
    END IF;
    RETURN v;
END
$$;

-------------------------------------------------------------------------------------------------
-- Contributions: validation, quality, object writes, rating impact, reward
-------------------------------------------------------------------------------------------------

-- Checks the shape of `changes` (AX010): {"puts": [{path, type, properties, status, location,
-- parents}], "connections": [{from, to, kind}]}.
CREATE FUNCTION arxos.check_changes(changes jsonb) RETURNS void
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    e   record;
    k   text;
    n   bigint := 0;
    lim integer := (SELECT s.max_changes FROM arxos.market_settings s);
BEGIN
    IF changes IS NULL OR changes = 'null' THEN
        RETURN;
    END IF;
    IF jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes must be a JSON object {"puts": [...], "connections": [...]}' USING ERRCODE = 'AX010';
    END IF;
    SELECT x INTO k FROM jsonb_object_keys(changes) x WHERE x NOT IN ('puts', 'connections') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'changes: unknown key %; use puts and connections', arxos.shown(k) USING ERRCODE = 'AX010';
    END IF;
    IF coalesce(jsonb_typeof(changes -> 'puts'), 'array') <> 'array'
       OR coalesce(jsonb_typeof(changes -> 'connections'), 'array') <> 'array' THEN
        RAISE EXCEPTION 'changes: puts and connections must be arrays' USING ERRCODE = 'AX010';
    END IF;
    FOR e IN SELECT value AS v, ordinality - 1 AS i FROM jsonb_array_elements(coalesce(changes -> 'puts', '[]')) WITH ORDINALITY LOOP
        n := n + 1;
        IF jsonb_typeof(e.v) <> 'object' THEN
            RAISE EXCEPTION 'changes.puts[%] must be an object', e.i USING ERRCODE = 'AX010';
        END IF;
        SELECT x INTO k FROM jsonb_object_keys(e.v) x
         WHERE x NOT IN ('path', 'type', 'properties', 'status', 'location', 'parents') LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'changes.puts[%]: unknown key %; use path, type, properties, status, location, parents',
                e.i, arxos.shown(k) USING ERRCODE = 'AX010';
        END IF;
        IF jsonb_typeof(e.v -> 'path') IS DISTINCT FROM 'string' OR jsonb_typeof(e.v -> 'type') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'changes.puts[%]: path and type are required strings', e.i USING ERRCODE = 'AX010';
        END IF;
        IF coalesce(jsonb_typeof(e.v -> 'properties'), 'object') NOT IN ('object', 'null')
           OR coalesce(jsonb_typeof(e.v -> 'status'), 'string') NOT IN ('string', 'null')
           OR coalesce(jsonb_typeof(e.v -> 'location'), 'object') NOT IN ('object', 'null')
           OR coalesce(jsonb_typeof(e.v -> 'parents'), 'boolean') NOT IN ('boolean', 'null') THEN
            RAISE EXCEPTION 'changes.puts[%]: properties and location must be objects, status a string, parents a boolean', e.i
                USING ERRCODE = 'AX010';
        END IF;
    END LOOP;
    -- One put per object: two for the same path (however written) would leave one of them
    -- silently overwritten, where a repeated connection is refused too.
    SELECT x.p, min(x.i) AS first, max(x.i) AS second INTO e
      FROM (SELECT arxos.normalize_path(value ->> 'path') AS p, ordinality - 1 AS i
              FROM jsonb_array_elements(coalesce(changes -> 'puts', '[]')) WITH ORDINALITY
             WHERE arxos.path_is_valid(value ->> 'path')) x
     GROUP BY x.p HAVING count(*) > 1 ORDER BY min(x.i) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'changes.puts[%] and changes.puts[%] both write %: one put per object in a contribution',
            e.first, e.second, e.p USING ERRCODE = 'AX010';
    END IF;
    FOR e IN SELECT value AS v, ordinality - 1 AS i FROM jsonb_array_elements(coalesce(changes -> 'connections', '[]')) WITH ORDINALITY LOOP
        n := n + 1;
        IF jsonb_typeof(e.v) <> 'object' THEN
            RAISE EXCEPTION 'changes.connections[%] must be an object', e.i USING ERRCODE = 'AX010';
        END IF;
        SELECT x INTO k FROM jsonb_object_keys(e.v) x WHERE x NOT IN ('from', 'to', 'kind') LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'changes.connections[%]: unknown key %; use from, to, kind', e.i, arxos.shown(k)
                USING ERRCODE = 'AX010';
        END IF;
        IF jsonb_typeof(e.v -> 'from') IS DISTINCT FROM 'string' OR jsonb_typeof(e.v -> 'to') IS DISTINCT FROM 'string'
           OR jsonb_typeof(e.v -> 'kind') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'changes.connections[%]: from, to and kind are required strings', e.i USING ERRCODE = 'AX010';
        END IF;
    END LOOP;
    IF n > lim THEN
        RAISE EXCEPTION 'changes carry % object writes; at most % are allowed in one contribution', n, lim
            USING ERRCODE = 'AX010', HINT = 'split the work into several contributions';
    END IF;
END
$$;

-- Applies `changes` through arxos.put and arxos.connect, puts in path order (parents first, and
-- a consistent lock order between concurrent contributions). A failing write raises AX010 (AX003
-- when it names an object that does not exist) with the failing change in the message.
CREATE FUNCTION arxos.apply_changes(building uuid, changes jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    e    record;
    what text;
BEGIN
    IF changes IS NULL OR changes = 'null' THEN
        RETURN;
    END IF;
    BEGIN
        FOR e IN SELECT value AS v, ordinality - 1 AS i
                   FROM jsonb_array_elements(coalesce(changes -> 'puts', '[]')) WITH ORDINALITY
                  ORDER BY CASE WHEN arxos.path_is_valid(value ->> 'path') THEN arxos.normalize_path(value ->> 'path') END,
                           ordinality LOOP
            what := format('changes.puts[%s] (%s)', e.i, e.v ->> 'path');
            PERFORM arxos.put(building::text, e.v ->> 'path', e.v ->> 'type',
                              properties => CASE WHEN jsonb_typeof(e.v -> 'properties') = 'object' THEN e.v -> 'properties' END,
                              status => e.v ->> 'status',
                              location => CASE WHEN jsonb_typeof(e.v -> 'location') = 'object' THEN e.v -> 'location' END,
                              parents => coalesce((e.v ->> 'parents')::boolean, false));
        END LOOP;
        FOR e IN SELECT value AS v, ordinality - 1 AS i
                   FROM jsonb_array_elements(coalesce(changes -> 'connections', '[]')) WITH ORDINALITY
                  ORDER BY ordinality LOOP
            what := format('changes.connections[%s] (%s -> %s)', e.i, e.v ->> 'from', e.v ->> 'to');
            PERFORM arxos.connect(building::text, e.v ->> 'from', e.v ->> 'to', e.v ->> 'kind');
        END LOOP;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation OR dependent_objects_still_exist
                   OR raise_exception OR no_data_found THEN
        -- (A put that meets another writer creating the same new path updates what the other
        -- created, as arxos.put does.) A connection that exists already is AX010: retrying
        -- would fail the same way.
        RAISE EXCEPTION '%: %', what, left(SQLERRM, 300)
            USING ERRCODE = CASE WHEN SQLSTATE = 'P0002' THEN 'AX003' ELSE 'AX010' END,
                  DETAIL = 'the write failed with SQLSTATE ' || SQLSTATE;
    END;
END
$$;

-- Quality in [0, 1], computed from what was supplied: the share of the type's recommended
-- metadata fields present, averaged with the completeness of the objects the contribution
-- touches (its path and the objects its changes write: located, documented, with properties,
-- a third each) when it touches any. Rounded to 3 decimals.
CREATE FUNCTION arxos.contribution_quality(type text, metadata jsonb, building uuid, paths text[])
RETURNS numeric
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT coalesce((SELECT r.recommended FROM arxos.contribution_rules r WHERE r.type = $1), '{}') AS rec
         -- an unknown type or metadata that is not an object has no quality: refused, not scored
         WHERE (arxos.contribution_type_known($1)
                OR arxos.raise('unknown contribution type ' || arxos.shown($1), '22023'))
           AND (coalesce(jsonb_typeof($2), 'object') = 'object'
                OR arxos.raise('metadata must be a JSON object', '22023'))
    ), fields AS (
        SELECT CASE WHEN cardinality(rules.rec) = 0 THEN 1.0
                    ELSE (SELECT count(*) FROM unnest(rules.rec) k WHERE arxos.metadata_present($2, k))::numeric
                         / cardinality(rules.rec) END AS score
          FROM rules
    ), objects AS (
        SELECT avg(((o.x IS NOT NULL)::int + (o.status <> 'unknown')::int + (o.properties <> '{}')::int) / 3.0) AS score
          FROM arxos.objects o
         WHERE o.building_id = $3 AND o.path = ANY ($4)
    )
    SELECT round(CASE WHEN objects.score IS NULL THEN fields.score
                      ELSE (fields.score + objects.score) / 2 END, 3)
      FROM fields, objects
$$;

-- Checks the per-type metadata rules that do not depend on the object writes. Raises AX007
-- (missing or malformed field, or a needed path missing) or AX009 (a time in the future).
CREATE FUNCTION arxos.check_contribution_metadata(type text, metadata jsonb, path text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    r  arxos.contribution_rules;
    k  text;
    t  timestamptz;
BEGIN
    SELECT * INTO r FROM arxos.contribution_rules x WHERE x.type = check_contribution_metadata.type;
    IF r.needs_path AND path IS NULL THEN
        RAISE EXCEPTION '% needs a path: the object the contribution is about', type USING ERRCODE = 'AX007';
    END IF;
    FOREACH k IN ARRAY coalesce(r.required, '{}') LOOP
        IF NOT arxos.metadata_present(metadata, k) THEN
            RAISE EXCEPTION '% needs metadata.%', type, k
                USING ERRCODE = 'AX007', HINT = 'required fields: ' || array_to_string(r.required, ', ');
        END IF;
    END LOOP;
    -- Checked when present (arxos.metadata_present: a null or blank value is no value).
    -- an integer a location's floor can be (found by an audit: 1e30 passed as an integer)
    IF arxos.metadata_present(metadata, 'floor') AND NOT (CASE WHEN jsonb_typeof(metadata -> 'floor') = 'number'
                                        THEN (metadata ->> 'floor')::numeric = trunc((metadata ->> 'floor')::numeric)
                                             AND (metadata ->> 'floor')::numeric BETWEEN -2147483648 AND 2147483647
                                        ELSE false END) THEN
        RAISE EXCEPTION 'metadata.floor must be a whole number from -2147483648 to 2147483647, got %', arxos.shown((metadata -> 'floor')::text) USING ERRCODE = 'AX007';
    END IF;
    IF arxos.metadata_present(metadata, 'image_hash') AND NOT coalesce(metadata ->> 'image_hash' ~* '^[0-9a-f]{64}$', false) THEN
        RAISE EXCEPTION 'metadata.image_hash must be a SHA-256 (64 hexadecimal characters)' USING ERRCODE = 'AX007';
    END IF;
    IF arxos.metadata_present(metadata, 'sensor') AND jsonb_typeof(metadata -> 'sensor') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'metadata.sensor must be the path of the sensor object' USING ERRCODE = 'AX007';
    END IF;
    FOREACH k IN ARRAY ARRAY['captured_at', 'performed_at'] LOOP
        IF arxos.metadata_present(metadata, k) THEN
            t := CASE WHEN jsonb_typeof(metadata -> k) = 'string' THEN arxos.try_timestamptz(metadata ->> k) END;
            IF t IS NULL OR t < '1900-01-01 00:00:00+00' THEN
                RAISE EXCEPTION 'metadata.% must be an ISO 8601 timestamp from 1900 on, like 2024-05-01T10:30:00Z, got %', k, arxos.shown((metadata -> k)::text)
                    USING ERRCODE = 'AX007';
            END IF;
            IF t > now() THEN
                RAISE EXCEPTION 'metadata.% (%) is in the future', k, arxos.shown(metadata ->> k) USING ERRCODE = 'AX009';
            END IF;
        END IF;
    END LOOP;
END
$$;

-- The impact bonus's high-water mark of a building: the highest score it had with a
-- contribution that sets a mark (before or after it), and the highest its rating history
-- records (plain writes and time move it too: a building documented by plain writes, wiped and
-- re-documented by a contribution, had that score before). A rejected contribution whose
-- tokens were all clawed back reached nothing: it sets no mark, nor do the history rows of its
-- writes. One rejected after its contributor moved the tokens away keeps its mark: those points
-- were paid, and an owner could otherwise pay the same climb again every cycle of contribute,
-- transfer, reject, delete. Each max is one probe of an index, whatever the building's history.
CREATE FUNCTION arxos.score_mark(b uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT greatest(
        (SELECT max(x.old_score) FROM arxos.contributions x
          WHERE x.building_id = b AND (x.status <> 'rejected' OR x.tokens_earned > 0)),
        (SELECT max(x.new_score) FROM arxos.contributions x
          WHERE x.building_id = b AND (x.status <> 'rejected' OR x.tokens_earned > 0)),
        (SELECT h.new_score FROM arxos.rating_history h
          WHERE h.building_id = b
            AND NOT EXISTS (SELECT 1 FROM arxos.contributions x
                             WHERE x.id = h.contribution_id AND arxos.sets_no_mark(x))
          ORDER BY h.new_score DESC LIMIT 1))
$$;

-- Whether another contribution that holds tokens was paid a bonus for part of the climb this
-- one's bonus paid for (its bonus_gain points below its new_score). Contributions paid while
-- both set a mark never overlap (each one's gain lies above the other's mark, or below it); an
-- overlap is a climb paid while this one set no mark: rejected with every token clawed back,
-- when another contribution documented the same again.
CREATE FUNCTION arxos.bonus_paid_again(c arxos.contributions) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM arxos.contributions x
         WHERE x.building_id = c.building_id AND x.id <> c.id AND x.tokens_earned > 0 AND x.bonus_gain > 0
           AND least(c.new_score, x.new_score) > greatest(c.new_score - c.bonus_gain, x.new_score - x.bonus_gain))
$$;

-- contribute and verify_contribution measure a gain, or an overlap, from the rating, the
-- history and the other contributions as they are once the mark's lock is theirs: a snapshot
-- from before it (REPEATABLE READ, SERIALIZABLE) would pay a climb plain writes or another
-- contribution reached meanwhile (found by a review: 4,668 tokens for three sensors measured
-- from a snapshot taken before a 20-sensor import). Refused, as tick() refuses it.
CREATE FUNCTION arxos.market_read_committed(what text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '% runs under READ COMMITTED only (this transaction is %): it measures the rating as it is when it runs',
            what, current_setting('transaction_isolation')
            USING ERRCODE = '55000', HINT = 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
    END IF;
END
$$;

-- Serialises what reads or moves a building's high-water mark (contribute, a status change in
-- verify_contribution): an UPDATE of the building's mint account row that changes nothing.
-- Nothing else updates a mint row, and the ledger's foreign keys take KEY SHARE, which this
-- does not block (their callers run under READ COMMITTED only: market_read_committed).
-- SECURITY DEFINER: the API's role may not update accounts (found by a review: two
-- reinstatements at once each found the other still rejected, and both were paid one climb).
CREATE FUNCTION arxos.lock_mark(b uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    mint bigint := arxos.account(b, NULL);
BEGIN
    -- The id is looked up once: a volatile call in the WHERE clause is no index condition and
    -- ran once per row of arxos.accounts (found by a review).
    UPDATE arxos.accounts a SET balance = a.balance WHERE a.id = mint;
END
$$;

CREATE FUNCTION arxos.contribute(building text, contributor uuid, type text, data_hash text,
                                 metadata jsonb DEFAULT '{}', path text DEFAULT NULL,
                                 changes jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
RETURNS TABLE (contribution_id uuid, status text, quality numeric, tokens_earned numeric,
               old_grade text, new_grade text, old_score numeric, new_score numeric,
               transaction_id bigint, replayed boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b        uuid := arxos.market_building(building);
    c        arxos.contributors;
    prior    arxos.contributions;
    s        arxos.market_settings;
    hash     text := lower(btrim(data_hash));
    meta     jsonb := coalesce(metadata, '{}');
    p        text;
    sensor   text;
    so       arxos.objects;
    puts     text[];
    fresh    bigint;
    r_before arxos.rating_result;
    r_after  arxos.rating_result;
    gain     numeric(6, 3);
    q        numeric;
    amount   numeric;
    cid      uuid := gen_random_uuid();
    rep_moved numeric(10, 6);
    obj      uuid;
    tx       bigint;
    recent   bigint;
    oldest   timestamptz;
    wait     bigint;
BEGIN
    PERFORM arxos.market_read_committed('contribute');
    -- The building (a delete that committed meanwhile: AX001, not a foreign key's message),
    -- then its mark's lock, before anything is read: contributions to one building run one at
    -- a time, each reading the rating and the mark after the one before committed (found by a
    -- review: taken later, a contribution waited and then measured its gain from a rating read
    -- before the other's commit, and was paid nothing), and before any contributor's row, in
    -- the order verify_contribution takes them too (a deadlock otherwise, review).
    IF NOT arxos.building_locked(b) THEN
        PERFORM arxos.market_building(building);
    END IF;
    PERFORM arxos.lock_mark(b);
    -- Who: the contributor's row is locked for the whole call, so one contributor's calls
    -- (and an idempotency key's replays) queue behind each other.
    SELECT * INTO c FROM arxos.lock_contributors(ARRAY[contributor], acting => contributor);
    PERFORM arxos.check_owner(c);

    IF idempotency_key IS NOT NULL THEN
        IF length(idempotency_key) NOT BETWEEN 1 AND 200 THEN
            RAISE EXCEPTION 'idempotency_key must be 1 to 200 characters' USING ERRCODE = '22023';
        END IF;
        SELECT * INTO prior FROM arxos.contributions x
         WHERE x.contributor_id = c.id AND x.idempotency_key = contribute.idempotency_key;
        IF FOUND THEN
            -- The whole request must be the same: a replay that carried other metadata, another
            -- path or other changes would answer 201 while dropping them.
            IF prior.building_id <> b OR prior.type IS DISTINCT FROM contribute.type OR prior.data_hash IS DISTINCT FROM hash
               OR prior.metadata IS DISTINCT FROM meta
               OR prior.path IS DISTINCT FROM (CASE WHEN path IS NOT NULL THEN arxos.normalize_object_path(path) END)
               OR prior.changes IS DISTINCT FROM (CASE WHEN changes = 'null' THEN NULL ELSE changes END) THEN
                RAISE EXCEPTION 'idempotency_key % was used for a different contribution (%)',
                    arxos.shown(idempotency_key), prior.id USING ERRCODE = 'AX012',
                    HINT = 'a replay must repeat the first request exactly (building, type, data_hash, metadata, path, changes); use a new key for a new contribution';
            END IF;
            RETURN QUERY SELECT prior.id, 'pending'::text, prior.quality, prior.first_reward, prior.old_grade,
                                prior.new_grade, prior.old_score, prior.new_score, prior.first_transaction_id, true;
            RETURN;
        END IF;
        -- Used in a building this caller cannot see: reused all the same, and nothing more said.
        IF arxos.idempotency_key_used(c.id, idempotency_key) THEN
            RAISE EXCEPTION 'idempotency_key % was used for a different contribution', arxos.shown(idempotency_key)
                USING ERRCODE = 'AX012', HINT = 'use a new key for a new contribution';
        END IF;
    END IF;

    -- What: the static rules.
    IF type IS NULL OR NOT arxos.contribution_type_known(type) THEN
        RAISE EXCEPTION 'unknown contribution type %', arxos.shown(type)
            USING ERRCODE = 'AX004',
                  HINT = 'valid types: ' || (SELECT string_agg(t.type, ', ') FROM arxos.contribution_types() t);
    END IF;
    IF hash IS NULL OR hash !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'data_hash must be the SHA-256 of the data: 64 hexadecimal characters' USING ERRCODE = 'AX005';
    END IF;
    IF jsonb_typeof(meta) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = 'AX007';
    END IF;
    IF path IS NOT NULL THEN
        IF NOT arxos.path_is_valid(path) OR arxos.normalize_path(path) = '/' THEN
            RAISE EXCEPTION 'unknown object %: not a valid object path', arxos.shown(path) USING ERRCODE = 'AX003';
        END IF;
        p := arxos.normalize_object_path(path);
    END IF;
    PERFORM arxos.check_contribution_metadata(type, meta, p);
    PERFORM arxos.check_changes(changes);
    IF EXISTS (SELECT 1 FROM arxos.contributions x WHERE x.building_id = b AND x.data_hash = hash) THEN
        RAISE EXCEPTION 'data % was already contributed to building %', hash, building USING ERRCODE = 'AX006';
    END IF;
    SELECT * INTO s FROM arxos.market_settings;
    IF s.rate_limit IS NOT NULL THEN
        SELECT count(*) INTO recent FROM arxos.contributions x
         WHERE x.contributor_id = c.id AND x.building_id = b AND x.created_at > now() - s.rate_window;
        IF recent >= s.rate_limit THEN
            -- when enough of them have left the window for one more to fit: the
            -- (recent - limit + 1)-th oldest (more than one, if the limit was lowered meanwhile);
            -- the shim's Retry-After reads the detail
            SELECT x.created_at INTO oldest FROM arxos.contributions x
             WHERE x.contributor_id = c.id AND x.building_id = b AND x.created_at > now() - s.rate_window
             ORDER BY x.created_at OFFSET recent - s.rate_limit LIMIT 1;
            wait := greatest(1, ceil(extract(epoch FROM oldest + s.rate_window - now())))::bigint;
            RAISE EXCEPTION 'rate limit: at most % contributions per contributor to a building within %, and % were made',
                s.rate_limit, s.rate_window, recent
                USING ERRCODE = 'AX011', DETAIL = format('retry after %s seconds', wait),
                      HINT = 'arxos.market_settings holds the limit (rate_limit, rate_window)';
        END IF;
    END IF;

    -- The object writes and their rating impact.
    r_before := arxos.rating(b::text);
    PERFORM arxos.apply_changes(b, changes);
    r_after := arxos.rating(b::text);

    -- The rules that look at the objects as they are after the writes.
    IF p IS NOT NULL THEN
        SELECT o.id INTO obj FROM arxos.objects o WHERE o.building_id = b AND o.path = p;
        IF obj IS NULL THEN
            RAISE EXCEPTION 'unknown object %', p USING ERRCODE = 'AX003',
                HINT = 'name an existing object, or create it in the same call with changes.puts';
        END IF;
    END IF;
    IF arxos.metadata_present(meta, 'sensor') THEN
        sensor := CASE WHEN arxos.path_is_valid(meta ->> 'sensor') AND arxos.normalize_path(meta ->> 'sensor') <> '/'
                       THEN arxos.normalize_object_path(meta ->> 'sensor') END;
        SELECT * INTO so FROM arxos.objects o WHERE o.building_id = b AND o.path = sensor;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'metadata.sensor % does not exist', arxos.shown(meta ->> 'sensor')
                USING ERRCODE = 'AX008', HINT = 'create the sensor in the same call with changes.puts';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM arxos.sensing_types t WHERE t.type = so.type) THEN
            RAISE EXCEPTION 'metadata.sensor % is a %, not a sensing device', so.path, so.type
                USING ERRCODE = 'AX008',
                      HINT = 'sensing types: ' || (SELECT string_agg(t.type, ', ' ORDER BY t.type) FROM arxos.sensing_types t);
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT arxos.normalize_object_path(e.value ->> 'path')), '{}') INTO puts
      FROM jsonb_array_elements(coalesce(changes -> 'puts', '[]')) e;
    q := arxos.contribution_quality(type, meta, b, puts || CASE WHEN p IS NULL THEN '{}'::text[] ELSE ARRAY[p] END);

    -- The impact bonus pays for new highs only: the points above the score before and the
    -- building's high-water mark (arxos.score_mark), read under the mark's lock.
    gain := greatest(0, r_after.score - greatest(r_before.score, arxos.score_mark(b)));
    -- Record it. A concurrent contribution of the same data that committed first wins (AX006).
    amount := arxos.contribution_reward(type, q::double precision, 'pending', c.trust_level,
                                        gain::double precision, r_after.grade)::numeric(20, 6);
    INSERT INTO arxos.contributions AS x (id, building_id, contributor_id, type, data_hash, path, object_id, metadata,
           changes, quality, trust_level, old_grade, new_grade, old_score, new_score, bonus_gain, status, reward,
           idempotency_key)
    VALUES (cid, b, c.id, type, hash, p, obj, meta, CASE WHEN changes = 'null' THEN NULL ELSE changes END, q,
            c.trust_level, r_before.grade, r_after.grade, r_before.score, r_after.score, gain, 'pending', amount,
            idempotency_key)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'data % was already contributed to building %', hash, building USING ERRCODE = 'AX006';
    END IF;

    -- The paths it wrote that this contributor had not written in this building before.
    WITH added AS (
        INSERT INTO arxos.documented_objects (contributor_id, building_id, path, contribution_id)
        SELECT c.id, b, u.path, cid FROM unnest(puts) AS u(path)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO fresh FROM added;

    -- Pay it, and move the contributor.
    tx := arxos.ledger_post('reward', b, cid, 'contribution ' || type,
                            ARRAY[arxos.account(b, NULL), arxos.account(b, c.id)], ARRAY[-amount, amount]);
    IF EXISTS (SELECT 1 FROM arxos.building_pioneers x WHERE x.building_id = b) THEN
        NULL;
    ELSE
        INSERT INTO arxos.building_pioneers (building_id, contributor_id, contribution_id)
        VALUES (b, c.id, cid) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            UPDATE arxos.contributors x SET buildings_pioneered = x.buildings_pioneered + 1 WHERE x.id = c.id;
        END IF;
    END IF;
    UPDATE arxos.contributors x
       SET reputation = arxos.add_reputation(x.reputation, arxos.reputation_delta('pending', q::double precision)),
           contributions = x.contributions + 1,
           objects_documented = x.objects_documented + fresh,
           last_active_at = now()
     WHERE x.id = c.id
    RETURNING x.reputation - c.reputation INTO rep_moved;
    -- One update of the new row for the payment and the reputation it moved.
    UPDATE arxos.contributions x
       SET tokens_earned = amount, first_reward = amount, first_transaction_id = tx, reputation_applied = rep_moved
     WHERE x.id = cid;

    -- The rating move these object writes cause (recorded by the sequencer) names this
    -- contribution.
    UPDATE arxos.rating_deltas d SET contribution_id = cid
     WHERE d.building_id = b AND d.xid = pg_current_xact_id() AND d.contribution_id IS NULL;

    PERFORM arxos.market_event('market.contribution', b, obj, p, jsonb_build_object(
        'contribution_id', cid, 'contributor_id', c.id, 'type', type, 'status', 'pending',
        'quality', q, 'data_hash', hash, 'old_grade', r_before.grade, 'new_grade', r_after.grade,
        'old_score', r_before.score, 'new_score', r_after.score));
    PERFORM arxos.market_event('market.reward', b, obj, p, jsonb_build_object(
        'contribution_id', cid, 'contributor_id', c.id, 'reason', 'contribution', 'status', 'pending',
        'amount', amount, 'transaction_id', tx));
    PERFORM arxos.wake();

    RETURN QUERY SELECT cid, 'pending'::text, q, amount, r_before.grade, r_after.grade, r_before.score, r_after.score, tx, false;
END
$$;
COMMENT ON FUNCTION arxos.contribute IS
    'Records a contribution in one transaction: validation, object writes, rating impact, reward (docs/market.md).';

-------------------------------------------------------------------------------------------------
-- Verification
-------------------------------------------------------------------------------------------------

-- The reputation a contributor verifies by: its reputation less what its contributions that no
-- trusted contributor of another owner has judged gave it: those still pending or
-- auto_verified (a status that needs no trust, so any identity may set it), those whose
-- status an identity of its own owner set (as owners were when it was set: forgetting the
-- verifier later changes nothing), and those whose status a plain UPDATE set
-- (contributions.judged_across_owners). A pending contribution adds reputation on
-- submission (reference §4), and contributions cost nothing but the rate limit, so a new
-- identity could submit its way to trusted without anyone looking at its work, have another
-- identity auto-verify it, and then reject other people's; the right to judge others is earned
-- by work someone trusted has judged (docs/market.md, Verification). SECURITY DEFINER: under
-- row-level security a key limited to some buildings would see, and subtract, only their work.
CREATE FUNCTION arxos.verifier_standing(v arxos.contributors) RETURNS numeric
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT greatest(0, v.reputation - coalesce(
               (SELECT sum(greatest(c.reputation_applied, 0))
                  FROM arxos.contributions c
                 WHERE c.contributor_id = v.id AND NOT c.judged_across_owners), 0))
$$;

-- Whether a verification by verifier of author's work does not count in the rating's V30: the
-- verifier has the author's owner, or the author was forgotten (forget_contributor rewrote its
-- owner to a pseudonym, so its former owner's identities would otherwise pass for another's).
CREATE FUNCTION arxos.same_owner_verification(verifier arxos.contributors, author arxos.contributors) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT verifier.owner IS NOT DISTINCT FROM author.owner OR author.forgotten_at IS NOT NULL
$$;

CREATE FUNCTION arxos.verify_contribution(contribution uuid, verifier uuid, status text)
RETURNS TABLE (contribution_id uuid, old_status text, new_status text, tokens_delta numeric,
               tokens_earned numeric, verifier_reward numeric, transaction_id bigint,
               verifier_transaction_id bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    k       arxos.contributions;
    author  arxos.contributors;
    v       arxos.contributors;
    x       arxos.contributors;
    target  numeric(20, 6);
    delta   numeric(20, 6);
    held    numeric(20, 6);
    pay     numeric(20, 6) := 0;
    tx      bigint;
    vtx     bigint;
    needed  text;
    standing numeric;
    rep_moved numeric(10, 6) := 0;
    catch_up boolean := false;
BEGIN
    IF status IS NULL OR status NOT IN ('auto_verified', 'peer_verified', 'expert_verified', 'rejected') THEN
        RAISE EXCEPTION 'invalid verification status %: use auto_verified, peer_verified, expert_verified or rejected',
            arxos.shown(status) USING ERRCODE = 'AX016';
    END IF;
    SELECT * INTO k FROM arxos.contributions c WHERE c.id = contribution;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown contribution %', coalesce(contribution::text, 'NULL') USING ERRCODE = 'AX017';
    END IF;
    IF verifier IS NOT DISTINCT FROM k.contributor_id THEN
        RAISE EXCEPTION 'nobody verifies their own work' USING ERRCODE = 'AX014';
    END IF;
    -- The building's mark first, as contribute takes it (every status change reads or moves
    -- the mark: a deadlock with a contribution otherwise, found by a review), then both
    -- contributors in id order; the author may have been forgotten, the verifier not.
    PERFORM arxos.market_read_committed('verify_contribution');
    PERFORM arxos.lock_mark(k.building_id);
    FOR x IN SELECT * FROM arxos.lock_contributors(ARRAY[k.contributor_id, verifier], allow_forgotten => true, acting => verifier) LOOP
        IF x.id = verifier THEN v := x; ELSE author := x; END IF;
    END LOOP;
    IF v.forgotten_at IS NOT NULL THEN
        RAISE EXCEPTION 'contributor % was forgotten', v.id
            USING ERRCODE = 'AX002', HINT = 'a forgotten contributor''s account is frozen';
    END IF;
    PERFORM arxos.check_owner(v);
    SELECT * INTO k FROM arxos.contributions c WHERE c.id = contribution FOR UPDATE;

    -- The status it already has: nothing changes, whoever asks (no trust needed for nothing);
    -- except that a verifier of another owner confirming a verified status an identity of the
    -- author's own owner set makes it count in the rating's V30 (verified_by_same_owner
    -- cleared, no tokens move), with the trust that status needs.
    IF k.status = status AND k.verified_by_same_owner AND arxos.verification_counts(status)
       AND NOT arxos.same_owner_verification(v, author)
       AND arxos.trust_ordinal(arxos.trust_level(arxos.verifier_standing(v)::double precision))
           >= arxos.trust_ordinal(arxos.status_required_trust(status)) THEN
        UPDATE arxos.contributions c SET verified_by_same_owner = false, verifier_id = v.id WHERE c.id = k.id;
    END IF;
    -- The same status again books nothing, unless what was booked differs from the status's
    -- reward: a status a DBA set with a plain UPDATE (which books nothing: ledger_check's
    -- unbooked_status) is booked by the verification that confirms it, and the verifier paid
    -- (found by an audit: the real verification was a no-op, the author never paid); a
    -- rejection whose claw-back the balance capped takes what the contributor holds now. That
    -- catch-up verifies nothing: only the tokens move (no verifier reward, no verification
    -- counted, the contribution's verifier and reputation as they were; found by a market
    -- review: it paid the verifier 3 tokens and a verifications_given).
    IF k.status = status THEN
        delta := k.reward - k.tokens_earned;
        IF delta < 0 THEN
            SELECT a.balance INTO held FROM arxos.accounts a
             WHERE a.building_id = k.building_id AND a.contributor_id = k.contributor_id;
            delta := -least(-delta, coalesce(held, 0));
            -- (the status its newest verification set: a claw-back that fell short; a status
            -- a DBA lowered by hand is confirmed by this call, a verification)
            catch_up := coalesce(k.status = (SELECT w.new_status FROM arxos.verifications w
                                              WHERE w.contribution_id = k.id ORDER BY w.id DESC LIMIT 1), false);
        END IF;
        IF delta = 0 THEN
            RETURN QUERY SELECT k.id, k.status, k.status, 0::numeric(20, 6), k.tokens_earned, 0::numeric(20, 6),
                                NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
    END IF;
    needed := CASE WHEN arxos.trust_ordinal(arxos.status_required_trust(status))
                        >= arxos.trust_ordinal(arxos.status_required_trust(k.status))
                   THEN arxos.status_required_trust(status) ELSE arxos.status_required_trust(k.status) END;
    standing := arxos.verifier_standing(v);
    IF arxos.trust_ordinal(arxos.trust_level(standing::double precision)) < arxos.trust_ordinal(needed) THEN
        RAISE EXCEPTION 'setting % on a % contribution needs trust level % or higher; verifier % is %',
            status, k.status, needed, v.id, arxos.trust_level(standing::double precision)
            USING ERRCODE = 'AX015',
                  DETAIL = format('a verifier''s trust is that of its standing, %s: its reputation (%s) less what its work that no trusted contributor of another owner has judged gave it',
                                  standing, v.reputation);
    END IF;

    -- Paying a contribution that holds none of its tokens (a rejection that clawed back every
    -- one, undone; or a status a DBA set by hand on it, confirmed): it set no mark meanwhile,
    -- so another contribution may have been paid for the same climb since; then its bonus is
    -- not paid again at all, only its base reward (found by an audit: reject, delete the
    -- objects, contribute them again, reinstate paid one climb once per cycle, without end).
    -- All or nothing, so that every bonus_gain is the one its climb was measured with, or 0
    -- (a review: lowered to a part, the part was taken for the top of the climb, and a later
    -- repayment overlapped what this one had been paid). Under the mark's lock, taken above.
    IF k.tokens_earned <= 0 AND status <> 'rejected' AND k.bonus_gain > 0
       AND arxos.bonus_paid_again(k) THEN
        k.bonus_gain := 0;
    END IF;
    -- The contributor: the reward of the new status minus what was booked so far. A claw-back
    -- takes at most what the contributor still holds of the building's tokens.
    target := arxos.contribution_reward_for(k, status);
    delta := target - k.tokens_earned;
    IF delta < 0 THEN
        SELECT a.balance INTO held FROM arxos.accounts a
         WHERE a.building_id = k.building_id AND a.contributor_id = k.contributor_id;
        delta := -least(-delta, coalesce(held, 0));
    END IF;
    IF delta <> 0 THEN
        tx := arxos.ledger_post('reward', k.building_id, k.id, format('status %s -> %s', k.status, status),
                                ARRAY[arxos.account(k.building_id, NULL), arxos.account(k.building_id, k.contributor_id)],
                                ARRAY[-delta, delta]);
    END IF;
    -- A verifier of the same owner (one API key's identities) moves tokens but earns the author
    -- no reputation beyond a pending contribution's: trust, which is what lets a contributor
    -- verify more than auto_verified, cannot be raised by an owner's own identities alone.
    UPDATE arxos.contributors c
       SET reputation = arxos.add_reputation(c.reputation,
               CASE WHEN catch_up THEN k.reputation_applied::double precision
                    WHEN v.owner = author.owner
                    THEN least(arxos.reputation_delta(verify_contribution.status, k.quality::double precision),
                               arxos.reputation_delta('pending', k.quality::double precision))
                    ELSE arxos.reputation_delta(verify_contribution.status, k.quality::double precision) END
               - k.reputation_applied::double precision)
     WHERE c.id = k.contributor_id
    RETURNING c.reputation - author.reputation INTO rep_moved;
    UPDATE arxos.contributions c
       SET status = verify_contribution.status, reward = target, tokens_earned = c.tokens_earned + delta,
           bonus_gain = k.bonus_gain, reputation_applied = c.reputation_applied + rep_moved,
           verifier_id = CASE WHEN catch_up THEN c.verifier_id ELSE v.id END,
           judged_across_owners = CASE WHEN catch_up THEN c.judged_across_owners
                                       ELSE v.owner IS DISTINCT FROM author.owner
                                            AND verify_contribution.status IN ('peer_verified', 'expert_verified', 'rejected') END,
           verified_by_same_owner = CASE WHEN catch_up THEN c.verified_by_same_owner
                                         ELSE arxos.same_owner_verification(v, author) END
     WHERE c.id = k.id;

    -- The verifier: paid once per contribution for a peer or expert verification, as the
    -- append-only ledger shows (not the verifications table, which plain SQL can edit).
    IF status IN ('peer_verified', 'expert_verified') AND NOT catch_up
       AND NOT EXISTS (SELECT 1 FROM arxos.ledger_transactions t
                         JOIN arxos.ledger_entries e ON e.transaction_id = t.id
                         JOIN arxos.accounts a ON a.id = e.account_id
                        WHERE t.contribution_id = k.id AND t.kind = 'verifier_reward'
                          AND a.contributor_id = v.id AND e.amount > 0) THEN
        pay := arxos.verifier_reward()::numeric(20, 6);
        IF pay > 0 THEN
            vtx := arxos.ledger_post('verifier_reward', k.building_id, k.id, 'verification of ' || k.id,
                                     ARRAY[arxos.account(k.building_id, NULL), arxos.account(k.building_id, v.id)],
                                     ARRAY[-pay, pay]);
        END IF;
    END IF;
    UPDATE arxos.contributors c
       -- (contributions verified: flipping one contribution's status again counts once; a
       -- catch-up verifies nothing)
       SET verifications_given = c.verifications_given
               + CASE WHEN catch_up OR EXISTS (SELECT 1 FROM arxos.verifications w
                                                WHERE w.contribution_id = k.id AND w.verifier_id = v.id)
                    THEN 0 ELSE 1 END,
           last_active_at = now()
     WHERE c.id = v.id;
    -- (a catch-up is no verification: its ledger transaction and market.reward event record
    -- it; a verifications row would also have kept the caller's later real verification
    -- from counting, found by a review)
    IF NOT catch_up THEN
        INSERT INTO arxos.verifications (contribution_id, verifier_id, old_status, new_status, tokens_delta,
                                         verifier_reward, transaction_id, verifier_transaction_id)
        VALUES (k.id, v.id, k.status, status, delta, pay, tx, vtx);
        PERFORM arxos.market_event('market.contribution', k.building_id, k.object_id, k.path, jsonb_build_object(
            'contribution_id', k.id, 'contributor_id', k.contributor_id, 'type', k.type, 'old_status', k.status,
            'status', status, 'verifier_id', v.id, 'quality', k.quality));
    END IF;
    IF delta <> 0 THEN
        PERFORM arxos.market_event('market.reward', k.building_id, k.object_id, k.path, jsonb_build_object(
            'contribution_id', k.id, 'contributor_id', k.contributor_id, 'reason', 'verification',
            'status', status, 'amount', delta, 'transaction_id', tx));
    END IF;
    IF pay > 0 THEN
        PERFORM arxos.market_event('market.reward', k.building_id, k.object_id, k.path, jsonb_build_object(
            'contribution_id', k.id, 'contributor_id', v.id, 'reason', 'verifier', 'status', status,
            'amount', pay, 'transaction_id', vtx));
    END IF;
    PERFORM arxos.wake();

    RETURN QUERY SELECT k.id, k.status, status, delta, k.tokens_earned + delta, pay, tx, vtx;
END
$$;
COMMENT ON FUNCTION arxos.verify_contribution IS
    'Changes a contribution''s status; books the reward difference, pays the verifier, moves reputation and the rating.';

-------------------------------------------------------------------------------------------------
-- Transfers and balances
-------------------------------------------------------------------------------------------------

-- Moves tokens between contributors. With a building, that building's tokens; without, the
-- sender's holdings are drawn largest first (ties: building key). Returns the transaction id.
-- The transfer a sender booked under an idempotency key: its id, memo, the tokens it moved,
-- to whom and in which buildings. SECURITY DEFINER: a retry sent through a key limited to
-- other buildings than the first request's must still recognise it (row-level security would
-- hide the accounts, and the retry would read as a different transfer).
CREATE FUNCTION arxos.keyed_transfer(sender uuid, key text,
                                     OUT id bigint, OUT memo text, OUT moved numeric,
                                     OUT receivers uuid[], OUT buildings uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT t.id, t.memo, sum(e.amount) FILTER (WHERE e.amount > 0),
           array_agg(DISTINCT a.contributor_id) FILTER (WHERE e.amount > 0), array_agg(DISTINCT a.building_id)
      FROM arxos.ledger_transactions t
      JOIN arxos.ledger_entries e ON e.transaction_id = t.id
      JOIN arxos.accounts a ON a.id = e.account_id
     WHERE t.idempotent_for = sender AND t.idempotency_key = key
     GROUP BY t.id
$$;

-- arxos.transfer, saying whether it booked (replayed false) or answered a transfer booked
-- earlier under the same idempotency key (true): the REST API's `replayed`, right for a retry
-- that waited on the first request's lock too.
CREATE FUNCTION arxos.transfer_or_replay(from_contributor uuid, to_contributor uuid, amount numeric,
                                         memo text DEFAULT NULL, building text DEFAULT NULL,
                                         idempotency_key text DEFAULT NULL,
                                         OUT transaction_id bigint, OUT replayed boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b        uuid;
    x        arxos.contributors;
    sender   arxos.contributors;
    recipient arxos.contributors;
    avail    numeric;
    rest     numeric(20, 6);  -- set once the amount is known to fit
    taken    numeric(20, 6);
    part     record;
    accts    bigint[] := '{}';
    amounts  numeric[] := '{}';
    part_buildings uuid[] := '{}';     -- the buildings drawn on, in order, and what each gave
    part_amounts   numeric[] := '{}';
    tx       bigint;
BEGIN
    -- (NaN and ±Infinity first: round() of an infinite amount fails)
    IF amount IS NULL OR amount IN ('NaN', 'Infinity', '-Infinity') OR amount <= 0 OR amount >= 1e14
       OR amount <> round(amount, 6) THEN
        RAISE EXCEPTION 'invalid amount %: a positive number of tokens with at most 6 decimals, below 10^14',
            coalesce(arxos.shown(amount::text), 'NULL') USING ERRCODE = 'AX019';
    END IF;
    rest := amount;
    -- A label's rules (arxos.is_label): a memo shows in statements and events as written, so
    -- no control or invisible formatting characters (a right-to-left override could make it
    -- read as something else), and no space at either end.
    IF memo IS NOT NULL AND NOT arxos.is_label(memo, 500) THEN
        RAISE EXCEPTION 'memo: 1 to 500 characters, no space at either end, no control or invisible formatting characters'
            USING ERRCODE = 'AX019';
    END IF;
    IF from_contributor IS NOT DISTINCT FROM to_contributor THEN
        RAISE EXCEPTION 'a transfer needs two different contributors' USING ERRCODE = 'AX020';
    END IF;
    IF building IS NOT NULL THEN
        b := arxos.market_building(building);
    END IF;
    -- A forgotten recipient is refused below, after a keyed retry of a transfer booked before
    -- it was forgotten has been answered (it was booked: the client must hear so).
    FOR x IN SELECT * FROM arxos.lock_contributors(ARRAY[from_contributor, to_contributor], allow_forgotten => true, acting => from_contributor) LOOP
        IF x.id = from_contributor THEN sender := x; ELSE recipient := x; END IF;
    END LOOP;
    IF sender.forgotten_at IS NOT NULL THEN
        RAISE EXCEPTION 'contributor % was forgotten', sender.id
            USING ERRCODE = 'AX002', HINT = 'a forgotten contributor''s account is frozen';
    END IF;
    PERFORM arxos.check_owner(sender);
    -- A retry of a transfer sent with this key (the sender's row lock, taken above, queues
    -- concurrent retries behind the first): the same transfer answers the transaction booked,
    -- and books nothing; another transfer under the key is refused.
    IF idempotency_key IS NOT NULL THEN
        IF length(idempotency_key) NOT BETWEEN 1 AND 200 THEN
            RAISE EXCEPTION 'idempotency_key must be 1 to 200 characters' USING ERRCODE = '22023';
        END IF;
        SELECT * INTO part FROM arxos.keyed_transfer(sender.id, transfer_or_replay.idempotency_key) k
         WHERE k.id IS NOT NULL;
        IF FOUND THEN
            IF part.moved = amount AND part.receivers = ARRAY[to_contributor]
               AND part.memo IS NOT DISTINCT FROM transfer_or_replay.memo
               AND (b IS NULL OR part.buildings = ARRAY[b]) THEN
                transaction_id := part.id;
                replayed := true;
                RETURN;
            END IF;
            RAISE EXCEPTION 'idempotency_key % was used for a different transfer (transaction %)',
                arxos.shown(idempotency_key), part.id USING ERRCODE = 'AX012',
                HINT = 'a new transfer needs a new key';
        END IF;
    END IF;
    IF recipient.forgotten_at IS NOT NULL THEN
        RAISE EXCEPTION 'contributor % was forgotten', recipient.id
            USING ERRCODE = 'AX002', HINT = 'a forgotten contributor''s account is frozen';
    END IF;

    SELECT coalesce(sum(a.balance), 0)::numeric(20, 6) INTO avail FROM arxos.accounts a
     WHERE a.contributor_id = sender.id AND (b IS NULL OR a.building_id = b);
    IF avail < amount THEN
        RAISE EXCEPTION 'insufficient funds: the sender holds %, the transfer needs %', avail, amount
            USING ERRCODE = 'AX018',
                  -- a scoped request (an API key limited to some buildings) sees those only
                  DETAIL = CASE WHEN b IS NULL AND arxos.scope_ids() IS NOT NULL
                                THEN 'counting the tokens of the buildings this request may use (its API key is limited to some)'
                                WHEN b IS NULL THEN 'counting the tokens of every building'
                                ELSE 'counting the tokens of building ' || building END;
    END IF;
    FOR part IN SELECT a.building_id, a.balance FROM arxos.accounts a JOIN arxos.buildings k ON k.id = a.building_id
                 WHERE a.contributor_id = sender.id AND a.balance > 0 AND (b IS NULL OR a.building_id = b)
                 ORDER BY a.balance DESC, k.key LOOP
        EXIT WHEN rest = 0;
        taken := least(rest, part.balance);
        accts := accts || arxos.account(part.building_id, sender.id) || arxos.account(part.building_id, to_contributor);
        amounts := amounts || -taken || taken;
        part_buildings := part_buildings || part.building_id;
        part_amounts := part_amounts || taken;
        rest := rest - taken;
    END LOOP;
    tx := arxos.ledger_post('transfer',
                            CASE WHEN cardinality(part_buildings) = 1 THEN part_buildings[1] END,
                            NULL, memo, accts, amounts, idempotency_key,
                            CASE WHEN idempotency_key IS NOT NULL THEN sender.id END);
    UPDATE arxos.contributors c SET last_active_at = now() WHERE c.id = sender.id;
    -- One event per building whose tokens moved, in that building, with that building's part
    -- only: a consumer that sees one building (a scoped key, a webhook with a building filter)
    -- sees every movement of its tokens and nothing of the others' (an event without a
    -- building would be seen by unscoped consumers only). Consumers that see every building
    -- regroup a transfer's events by transaction_id.
    PERFORM arxos.market_event('market.trade', p.building_id, NULL, NULL,
                               jsonb_build_object('transaction_id', tx, 'from', sender.id, 'to', to_contributor,
                                                  'amount', p.amount::numeric(20, 6)))
      FROM unnest(part_buildings, part_amounts) WITH ORDINALITY AS p(building_id, amount, n)
     ORDER BY p.n;
    PERFORM arxos.wake();
    transaction_id := tx;
    replayed := false;
END
$$;

-- Moves tokens between contributors (arxos.transfer_or_replay, without saying whether a keyed
-- transfer was a replay).
CREATE FUNCTION arxos.transfer(from_contributor uuid, to_contributor uuid, amount numeric,
                               memo text DEFAULT NULL, building text DEFAULT NULL,
                               idempotency_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT t.transaction_id FROM arxos.transfer_or_replay(from_contributor, to_contributor, amount, memo, building, idempotency_key) t
$$;

-- The arguments of a read of a contributor's holdings: the contributor must exist (AX002), and
-- the building, when one is named (AX001), is returned as its id (NULL: every building).
CREATE FUNCTION arxos.holdings_building(contributor uuid, building text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM arxos.contributors c WHERE c.id = contributor) THEN
        RAISE EXCEPTION 'unknown contributor %', coalesce(contributor::text, 'NULL') USING ERRCODE = 'AX002';
    END IF;
    RETURN CASE WHEN building IS NOT NULL THEN arxos.market_building(building) END;
END
$$;

-- What a contributor holds: of one building's tokens, or in total.
CREATE FUNCTION arxos.balance(contributor uuid, building text DEFAULT NULL) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.holdings_building(contributor, building);
BEGIN
    RETURN (SELECT coalesce(sum(a.balance), 0)::numeric(20, 6) FROM arxos.accounts a
             WHERE a.contributor_id = contributor AND (b IS NULL OR a.building_id = b));
END
$$;

-- A contributor's holdings per building: balance and what was earned there.
-- An unknown contributor (or NULL) is AX002, as for balance and statement (found by an audit:
-- no rows, as for a contributor holding nothing).
CREATE FUNCTION arxos.balances(contributor uuid)
RETURNS TABLE (building text, balance numeric, earned numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM arxos.holdings_building(contributor, NULL);
    RETURN QUERY
    SELECT k.key, a.balance, a.earned
      FROM arxos.accounts a JOIN arxos.buildings k ON k.id = a.building_id
     WHERE a.contributor_id = balances.contributor
     ORDER BY k.key;
END
$$;

-- A contributor's statement: the ledger transactions that moved its holdings, newest first
-- (by transaction id; `before`: the last id of the page before), each with what it moved for
-- the contributor in all (amount) and per building (parts), the other contributor of a
-- transfer, the contribution of a reward. Under row-level security (a key limited to some
-- buildings) only those buildings' holdings count. `building` keeps one building's.
CREATE FUNCTION arxos.statement(contributor uuid, building text DEFAULT NULL, before bigint DEFAULT NULL,
                                max integer DEFAULT NULL)
RETURNS TABLE (transaction_id bigint, kind text, at timestamptz, amount numeric, parts jsonb,
               counterparty text, contribution_id uuid, memo text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b   uuid := arxos.holdings_building(contributor, building);
    lim integer := arxos.listing_limit(max);
BEGIN
    RETURN QUERY
    -- the page's transaction ids first: at most `lim` per holding, newest first, from the
    -- (account_id, transaction_id) index, so a page reads what it shows and no more
    WITH ids AS (
        SELECT DISTINCT x.id
          FROM arxos.accounts a
          CROSS JOIN LATERAL (SELECT e.transaction_id AS id FROM arxos.ledger_entries e
                               WHERE e.account_id = a.id AND (statement.before IS NULL OR e.transaction_id < statement.before)
                               ORDER BY e.transaction_id DESC LIMIT lim) x
         WHERE a.contributor_id = statement.contributor AND (b IS NULL OR a.building_id = b)
         ORDER BY x.id DESC LIMIT lim
    ), moves AS (
        SELECT e.transaction_id AS id, k.key, sum(e.amount) AS amount
          FROM ids
          JOIN arxos.ledger_entries e ON e.transaction_id = ids.id
          JOIN arxos.accounts a ON a.id = e.account_id
          JOIN arxos.buildings k ON k.id = a.building_id
         WHERE a.contributor_id = statement.contributor AND (b IS NULL OR a.building_id = b)
         GROUP BY e.transaction_id, k.key
    )
    SELECT t.id, t.kind, t.at, sum(m.amount),
           jsonb_agg(jsonb_build_object('building', m.key, 'amount', m.amount) ORDER BY m.key),
           (SELECT c.handle FROM arxos.ledger_entries e
              JOIN arxos.accounts a ON a.id = e.account_id
              JOIN arxos.contributors c ON c.id = a.contributor_id
             WHERE t.kind = 'transfer' AND e.transaction_id = t.id AND a.contributor_id <> statement.contributor
             LIMIT 1),
           t.contribution_id, t.memo
      FROM moves m JOIN arxos.ledger_transactions t ON t.id = m.id
     GROUP BY t.id
     ORDER BY t.id DESC;
END
$$;

-------------------------------------------------------------------------------------------------
-- Invariants
-------------------------------------------------------------------------------------------------

-- Recomputes the ledger from its entries and returns every violation (none, normally).
CREATE FUNCTION arxos.ledger_check() RETURNS TABLE (problem text, detail text)
LANGUAGE sql STABLE AS $$
    -- every transaction sums to zero, per building
    SELECT 'transaction_unbalanced', format('transaction %s, building %s: entries sum to %s', x.transaction_id, x.building_id, x.total)
      FROM (SELECT e.transaction_id, a.building_id, sum(e.amount) AS total
              FROM arxos.ledger_entries e JOIN arxos.accounts a ON a.id = e.account_id
             GROUP BY e.transaction_id, a.building_id HAVING sum(e.amount) <> 0) x
    UNION ALL
    SELECT 'transaction_without_entries', format('transaction %s has %s entries', t.id, count(e.id))
      FROM arxos.ledger_transactions t LEFT JOIN arxos.ledger_entries e ON e.transaction_id = t.id
     GROUP BY t.id HAVING count(e.id) < 2
    UNION ALL
    -- holding balances: derived from the entries, never negative, equal to the stored ones
    SELECT CASE WHEN d.derived < 0 THEN 'negative_balance' ELSE 'balance_mismatch' END,
           format('account %s (contributor %s, building %s): stored %s, entries %s, earned %s vs %s',
                  a.id, a.contributor_id, a.building_id, a.balance, d.derived, a.earned, d.earned)
      FROM arxos.accounts a
      CROSS JOIN LATERAL (
            SELECT coalesce(sum(e.amount), 0) AS derived,
                   coalesce(sum(e.amount) FILTER (WHERE t.kind <> 'transfer'), 0) AS earned
              FROM arxos.ledger_entries e JOIN arxos.ledger_transactions t ON t.id = e.transaction_id
             WHERE e.account_id = a.id) d
     WHERE a.contributor_id IS NOT NULL
       AND (d.derived < 0 OR d.derived <> a.balance OR d.earned <> a.earned)
    UNION ALL
    -- minted total = sum of rewards, per building
    SELECT 'minted_mismatch', format('building %s: minted %s, rewards booked %s', m.building_id, m.minted, r.rewards)
      FROM (SELECT a.building_id, -coalesce(sum(e.amount), 0) AS minted
              FROM arxos.accounts a LEFT JOIN arxos.ledger_entries e ON e.account_id = a.id
             WHERE a.contributor_id IS NULL GROUP BY a.building_id) m
      CROSS JOIN LATERAL (
            SELECT coalesce((SELECT sum(c.tokens_earned) FROM arxos.contributions c WHERE c.building_id = m.building_id), 0)
                 + coalesce((SELECT sum(w.verifier_reward) FROM arxos.verifications w
                               JOIN arxos.contributions c ON c.id = w.contribution_id
                              WHERE c.building_id = m.building_id), 0) AS rewards) r
     WHERE m.minted <> r.rewards
    UNION ALL
    -- each contribution's tokens_earned is what its reward transactions paid its contributor,
    -- and that is never more than the reward of a status it has had (the reward formula over
    -- what the contribution recorded, which cannot change): tokens booked by hand to a
    -- contribution show here even when its tokens_earned was set to match
    SELECT p.problem, p.detail
      FROM arxos.contributions c
      CROSS JOIN LATERAL (SELECT arxos.contribution_booked(c.id, c.contributor_id) AS paid,
                                 greatest(coalesce(c.first_reward, 0), arxos.contribution_reward_for(c, c.status),
                                          (SELECT max(arxos.contribution_reward_for(c, w.new_status))
                                             FROM arxos.verifications w WHERE w.contribution_id = c.id)) AS most) b
      CROSS JOIN LATERAL (VALUES
            ('contribution_mismatch', format('contribution %s: tokens_earned %s, booked %s', c.id, c.tokens_earned, b.paid),
             b.paid <> c.tokens_earned),
            ('overpaid_contribution', format('contribution %s: booked %s, the highest reward of its statuses %s', c.id, b.paid, b.most),
             b.paid > b.most)) p(problem, detail, found)
     WHERE p.found
    UNION ALL
    -- a status set without verify_contribution (a DBA's plain UPDATE): its reward was not
    -- booked. Booking always pays a status's whole reward, so a raised status shows as a reward
    -- above tokens_earned. A claw-back may fall short (capped by the balance), so a reward below
    -- tokens_earned is reported only when the contribution's status is not the one its newest
    -- verification set (or, with none, pending: what contribute makes, booking its whole
    -- reward), which also keeps tokens_earned set by hand out of it. Found by audits: finance saw reward and tokens_earned disagree with nothing to
    -- explain it, raised and (later) lowered by hand.
    SELECT 'unbooked_status', format('contribution %s: status %s rewards %s, booked %s: a status set without verify_contribution, %s',
                                     c.id, c.status, c.reward, c.tokens_earned,
                                     CASE WHEN c.status = 'pending'
                                          THEN 'which cannot set pending: set the status it had back, or verify it to another'
                                          ELSE 'which books the difference when it sets that status' END)
      FROM arxos.contributions c
     WHERE c.reward > c.tokens_earned
        OR (c.reward < c.tokens_earned
            AND c.status <> coalesce((SELECT w.new_status FROM arxos.verifications w
                                       WHERE w.contribution_id = c.id ORDER BY w.id DESC LIMIT 1), 'pending')
            -- and the contributor holds some of the building's tokens, which the confirming
            -- verification would claw back; holding none, the ledger is as a capped step-down
            -- leaves it, and that verification books nothing (found by a review: reported
            -- for ever)
            AND EXISTS (SELECT 1 FROM arxos.accounts a
                         WHERE a.building_id = c.building_id AND a.contributor_id = c.contributor_id
                           AND a.balance > 0))
    UNION ALL
    -- a reward pays its contribution's contributor; a verifier's pay goes to a contributor
    -- who verified the contribution (peer or expert), verifier_reward() once
    SELECT 'misdirected_reward', format('transaction %s (%s) pays contributor %s %s for contribution %s',
                                        t.id, t.kind, a.contributor_id, e.amount, t.contribution_id)
      FROM arxos.ledger_transactions t
      JOIN arxos.ledger_entries e ON e.transaction_id = t.id
      JOIN arxos.accounts a ON a.id = e.account_id AND a.contributor_id IS NOT NULL
      LEFT JOIN arxos.contributions c ON c.id = t.contribution_id
     WHERE (t.kind = 'reward' AND a.contributor_id IS DISTINCT FROM c.contributor_id)
        OR (t.kind = 'verifier_reward'
            AND NOT EXISTS (SELECT 1 FROM arxos.verifications w
                             WHERE w.contribution_id = t.contribution_id AND w.verifier_id = a.contributor_id
                               AND w.new_status IN ('peer_verified', 'expert_verified')))
    UNION ALL
    SELECT 'overpaid_verifier', format('contribution %s: verifier %s was paid %s', t.contribution_id, a.contributor_id, sum(e.amount))
      FROM arxos.ledger_transactions t
      JOIN arxos.ledger_entries e ON e.transaction_id = t.id
      JOIN arxos.accounts a ON a.id = e.account_id AND a.contributor_id IS NOT NULL
     WHERE t.kind = 'verifier_reward'
     GROUP BY t.contribution_id, a.contributor_id
    HAVING sum(e.amount) > arxos.verifier_reward()::numeric(20, 6)
    UNION ALL
    -- rewards move tokens between the building's mint and holdings; transfers between holdings
    SELECT 'misdirected_entry', format('transaction %s (%s) has an entry on account %s', t.id, t.kind, a.id)
      FROM arxos.ledger_transactions t
      JOIN arxos.ledger_entries e ON e.transaction_id = t.id
      JOIN arxos.accounts a ON a.id = e.account_id
     WHERE (t.kind = 'transfer' AND a.contributor_id IS NULL)
        OR (t.kind <> 'transfer' AND a.building_id IS DISTINCT FROM t.building_id)
$$;

-------------------------------------------------------------------------------------------------
-- Market data and leaderboards
-------------------------------------------------------------------------------------------------

-- Token price for market signals: the token maths of arxos.token_figures.
CREATE OR REPLACE FUNCTION arxos.token_price(score double precision, grade text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT f.price::numeric FROM arxos.token_figures(score, grade) f
$$;

-- A building's token, from its real current rating, plus what its mint has issued.
CREATE FUNCTION arxos.token(building text)
RETURNS TABLE (grade text, score numeric, supply numeric, circulating numeric, locked numeric,
               price numeric, market_cap numeric, minted numeric, holders bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.market_building(building);
    r arxos.rating_result := arxos.rating(b::text);
BEGIN
    RETURN QUERY
    SELECT r.grade, r.score, f.supply::numeric, f.circulating::numeric, f.locked::numeric, f.price::numeric,
           f.market_cap::numeric,
           (SELECT -coalesce(sum(e.amount), 0) FROM arxos.ledger_entries e
              JOIN arxos.accounts a ON a.id = e.account_id
             WHERE a.building_id = b AND a.contributor_id IS NULL)::numeric(20, 6),
           (SELECT count(*) FROM arxos.accounts a WHERE a.building_id = b AND a.balance > 0)
      FROM arxos.token_figures(r.score::double precision, r.grade) f;
END
$$;

-- Top contributors by tokens earned (rewards net of claw-backs; transfers do not count), overall
-- or in one building. Ties: reputation, then handle.
CREATE FUNCTION arxos.leaderboard(building text DEFAULT NULL, max integer DEFAULT 10)
RETURNS TABLE (rank bigint, contributor_id uuid, handle text, display_name text, trust_level text,
               reputation numeric, earned numeric, contributions bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid;
BEGIN
    IF max IS NULL OR max < 1 OR max > 1000 THEN
        RAISE EXCEPTION 'max must be between 1 and 1000, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF building IS NOT NULL THEN
        b := arxos.market_building(building);
    END IF;
    RETURN QUERY
    SELECT rank() OVER (ORDER BY s.earned DESC, c.reputation DESC),
           c.id, c.handle, c.display_name, c.trust_level, c.reputation, s.earned, s.contributions
      FROM arxos.contributors c
      CROSS JOIN LATERAL (
            SELECT coalesce((SELECT sum(a.earned) FROM arxos.accounts a
                              WHERE a.contributor_id = c.id AND (b IS NULL OR a.building_id = b)), 0)::numeric(20, 6) AS earned,
                   -- (a request limited to some buildings counts what it may see: row-level
                   -- security filters the contributions, where the counter is global)
                   CASE WHEN b IS NULL AND arxos.scope_ids() IS NULL
                        THEN c.contributions
                        ELSE (SELECT count(*) FROM arxos.contributions x
                               WHERE x.contributor_id = c.id AND (b IS NULL OR x.building_id = b))
                   END AS contributions) s
     WHERE s.earned > 0 OR s.contributions > 0
     ORDER BY s.earned DESC, c.reputation DESC, c.handle
     LIMIT max;
END
$$;

-- A contributor's profile: identity, reputation, trust, counters, badges, balance.
CREATE FUNCTION arxos.contributor(contributor uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' SET extra_float_digits = 1 AS $$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT 1 FROM arxos.contributors c WHERE c.id = contributor) THEN
        RAISE EXCEPTION 'unknown contributor %', coalesce(contributor::text, 'NULL') USING ERRCODE = 'AX002';
    END IF;
    RETURN (SELECT jsonb_build_object(
        'id', c.id, 'handle', c.handle, 'display_name', c.display_name,
        'reputation', c.reputation, 'trust_level', c.trust_level, 'registration_rank', c.registration_rank,
        'contributions', c.contributions, 'verified_contributions', c.verified_contributions,
        'rejected_contributions', c.rejected_contributions, 'verifications_given', c.verifications_given,
        'objects_documented', c.objects_documented, 'buildings_pioneered', c.buildings_pioneered,
        'balance', arxos.balance(c.id),
        'badges', coalesce((SELECT jsonb_agg(jsonb_build_object('badge', g.badge, 'why', g.why, 'earned_at', g.earned_at)
                                             ORDER BY g.earned_at, g.badge)
                              FROM arxos.contributor_badges g WHERE g.contributor_id = c.id), '[]'),
        'joined_at', c.joined_at, 'last_active_at', c.last_active_at, 'forgotten', c.forgotten_at IS NOT NULL)
      FROM arxos.contributors c WHERE c.id = contributor);
END
$$;

-------------------------------------------------------------------------------------------------
-- Privacy
-------------------------------------------------------------------------------------------------

-- Erases a contributor's personal fields: handle and display name become a pseudonym, the free
-- text of their contributions' metadata (and metadata fields no rule knows) and their transfer
-- memos go, the owner and actor names are replaced. Ledger amounts, balances, counters and
-- ratings stay as they are; the account is frozen. Returns the pseudonym.
CREATE FUNCTION arxos.forget_contributor(contributor uuid) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    c     arxos.contributors;
    alias text;
BEGIN
    SELECT * INTO c FROM arxos.lock_contributors(ARRAY[contributor], allow_forgotten => true);
    IF c.forgotten_at IS NOT NULL THEN
        RETURN c.handle;
    END IF;
    PERFORM arxos.check_owner(c);
    alias := 'anon-' || replace(c.id::text, '-', '');
    -- Forgotten first: the ledger's append-only trigger lets an actor become the pseudonym of
    -- a forgotten contributor only.
    UPDATE arxos.contributors x SET forgotten_at = now() WHERE x.id = c.id;
    UPDATE arxos.contributions x
       SET metadata = (SELECT coalesce(jsonb_object_agg(m.key, m.value), '{}')
                         FROM jsonb_each(x.metadata) m
                         JOIN arxos.contribution_rules r ON r.type = x.type
                        WHERE m.key = ANY (r.required || r.recommended) AND m.key <> ALL (r.free_text)),
           actor = CASE WHEN x.actor = c.owner THEN alias ELSE x.actor END
     WHERE x.contributor_id = c.id;
    -- The ledger transactions that moved its tokens: the memos of its outgoing transfers go,
    -- and its owner's name as their actor (rewards it was paid, transfers it sent; not the
    -- transfers it received, which another identity of the same owner may have sent: found
    -- by a review).
    UPDATE arxos.ledger_transactions t
       SET memo = CASE WHEN t.kind = 'transfer' AND x.outgoing THEN NULL ELSE t.memo END,
           actor = CASE WHEN t.actor = c.owner AND (t.kind <> 'transfer' OR x.outgoing) THEN alias
                        ELSE t.actor END
      FROM (SELECT e.transaction_id, bool_or(e.amount < 0) AS outgoing
              FROM arxos.ledger_entries e JOIN arxos.accounts a ON a.id = e.account_id
             WHERE a.contributor_id = c.id
             GROUP BY e.transaction_id) x
     WHERE t.id = x.transaction_id
       AND ((t.kind = 'transfer' AND x.outgoing) OR t.actor = c.owner);
    UPDATE arxos.verifications w SET actor = alias WHERE w.verifier_id = c.id AND w.actor = c.owner;
    UPDATE arxos.contributors x
       SET handle = alias, display_name = 'Forgotten contributor', owner = alias
     WHERE x.id = c.id;
    RETURN alias;
END
$$;

-------------------------------------------------------------------------------------------------
-- Privileges of arxos_api (08_security.sql): API requests run these functions as that role
-------------------------------------------------------------------------------------------------

GRANT SELECT ON arxos.market_settings, arxos.contribution_rules TO arxos_api;
GRANT SELECT, INSERT, UPDATE ON arxos.contributors, arxos.contributions,
      arxos.ledger_transactions, arxos.verifications TO arxos_api;
-- No UPDATE on accounts: balances move only in the entry trigger, which runs as the owner. The
-- depth test of accounts_before_update alone would let a role that may update accounts
-- through: its own trigger (on a temporary table) runs an UPDATE at depth 2.
GRANT SELECT, INSERT ON arxos.accounts TO arxos_api;
ALTER FUNCTION arxos.ledger_entries_after_insert() SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;
GRANT SELECT, INSERT ON arxos.contributor_badges, arxos.building_pioneers, arxos.documented_objects,
                        arxos.ledger_entries TO arxos_api;
GRANT USAGE ON SEQUENCE arxos.accounts_id_seq, arxos.ledger_transactions_id_seq,
      arxos.ledger_entries_id_seq, arxos.verifications_id_seq TO arxos_api;

-- Row-level security: a request limited to some buildings sees (and books) only their
-- contributions and token accounts, like the rest of the schema (08_security.sql).
ALTER TABLE arxos.contributions ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.contributions
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));
ALTER TABLE arxos.documented_objects ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.documented_objects
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));
ALTER TABLE arxos.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.accounts
    USING (building_id IS NULL OR (SELECT arxos.scope_ids()) IS NULL
           OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK (building_id IS NULL OR (SELECT arxos.scope_ids()) IS NULL
           OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));
