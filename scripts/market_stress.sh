#!/usr/bin/env bash
# Concurrency test of the token ledger: 16 pgbench clients make contributions (half of them
# writing objects), verifications (any status, also re-verifying and rejecting paid work) and
# transfers (of one building's tokens or across buildings) on the same few contributors of two
# buildings, against a throwaway PostgreSQL 15 cluster with the installed extension. Then:
# no client saw an error (no deadlock, nothing else), ledger_check() finds nothing, holding
# balances equal a recomputation from the entries, contributor counters and the rating's
# verified input equal a recount, and 16 clients racing on one idempotency key book once.
# Prints "market stress: N passed, M failed" and exits non-zero on any failure.
# Usage: scripts/market_stress.sh [seconds]   (default 60; MARKET_STRESS_SECONDS works too)
source "$(dirname "$0")/lib.sh"

SECONDS_TO_RUN=${1:-${MARKET_STRESS_SECONDS:-60}}
CLIENTS=${MARKET_STRESS_CLIENTS:-16}
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] && [ "$SECONDS_TO_RUN" -gt 0 ] || die "seconds must be a positive integer"

work=$(mktemp -d "${TMPDIR:-/tmp}/arxos-market-stress.XXXXXX")
# pgbench runs as postgres and reads its script from the checkout.
pg_reach "$ROOT_DIR/bench"
chmod 755 "$work"
port=$(free_port)
cleanup() { cluster_remove "$work"; }
trap cleanup EXIT
cluster_init "$work"
# (the socket: in $work, or in /tmp when $work's path is too long for one)
host=$(socket_dir "$work")
cluster_start "$work" "$port"
as_pg "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres arxos_stress

psql_q() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d arxos_stress "$@"; }
psql_q -c "CREATE EXTENSION arxos CASCADE" >/dev/null 2>&1 || die "CREATE EXTENSION arxos failed (is it installed?)"
[ "$(psql_q -tAc "SELECT to_regprocedure('arxos.ledger_check()') IS NOT NULL")" = t ] \
    || die "the installed extension has no market schema (reinstall with scripts/install-ext.sh)"

log "setting up two buildings, four workers and two verifiers"
psql_q <<'SQL' >/dev/null
UPDATE arxos.market_settings SET rate_limit = NULL;   -- the stress is the point here
SELECT arxos.create_building('stress1', 'Stress one'), arxos.create_building('stress2', 'Stress two');
SELECT arxos.put('stress' || b, '/c', 'room', '{"area": 9}', location => '{"x": 0, "y": 0}') FROM generate_series(1, 2) b;
SELECT arxos.register_contributor('worker' || g, 'Worker ' || g) FROM generate_series(1, 4) g;
SELECT arxos.register_contributor('verifier' || g, 'Verifier ' || g) FROM generate_series(1, 2) g;
UPDATE arxos.contributors SET reputation = 650 WHERE handle IN ('verifier1', 'verifier2');   -- experts
CREATE SCHEMA stress;
-- A contribution by worker w to building b; every other one writes an object (rating impact).
CREATE FUNCTION stress.contribute(b int, w int, client int) RETURNS numeric LANGUAGE sql AS $$
    SELECT c.tokens_earned
      FROM (SELECT '/c' || client || '/o' || floor(random() * 1e9)::bigint AS p, random() < 0.5 AS writes) x,
           arxos.contribute('stress' || b, arxos.contributor_id('worker' || w), 'object_documentation',
                            encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'),
                            '{"notes": "stress"}', CASE WHEN x.writes THEN x.p ELSE '/c' END,
                            CASE WHEN x.writes THEN jsonb_build_object('puts', jsonb_build_array(jsonb_build_object(
                                'path', x.p, 'type', 'thing', 'properties', jsonb_build_object('k', 1), 'parents', true,
                                'location', jsonb_build_object('x', random() * 10, 'y', random() * 10)))) END) c
$$;
-- Verifier v sets a random status on one of the building's 20 latest contributions.
CREATE FUNCTION stress.verify(b int, v int) RETURNS numeric LANGUAGE sql AS $$
    SELECT r.tokens_delta
      FROM (SELECT x.id FROM arxos.contributions x WHERE x.building_id = arxos.building_id('stress' || b)
             ORDER BY x.created_at DESC LIMIT 1 OFFSET floor(random() * 20)::int) c,
           arxos.verify_contribution(c.id, arxos.contributor_id('verifier' || v),
               (ARRAY['auto_verified', 'peer_verified', 'expert_verified', 'rejected'])[1 + floor(random() * 4)::int]) r
$$;
-- Worker w pays contributor number other (worker1..4, verifier1..2), of building b's tokens or (b = 2, every
-- other time) of any; refused transfers (not enough tokens) are part of the game, nothing else.
CREATE FUNCTION stress.transfer(w int, other int, amount int, b int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    payee text := CASE WHEN other <= 4 THEN 'worker' || other ELSE 'verifier' || (other - 4) END;
BEGIN
    IF payee = 'worker' || w THEN
        payee := 'verifier1';
    END IF;
    PERFORM arxos.transfer(arxos.contributor_id('worker' || w), arxos.contributor_id(payee), amount, 'stress',
                           CASE WHEN b = 2 AND random() < 0.5 THEN NULL ELSE 'stress' || b END);
    RETURN true;
EXCEPTION WHEN SQLSTATE 'AX018' THEN
    RETURN false;
END
$$;
-- Every worker starts with some tokens in both buildings.
SELECT stress.contribute(b, w, 0) FROM generate_series(1, 2) b, generate_series(1, 4) w;
SQL

passed=0
failed=0
check() {   # check NAME SQL-returning-true
    local name=$1 got
    got=$(psql_q -tAc "$2" 2>&1) || true
    if [ "$got" = t ]; then
        passed=$((passed + 1)); echo "ok    $name"
    else
        failed=$((failed + 1)); echo "FAIL  $name: $got"
    fi
}

log "pgbench: $CLIENTS clients for ${SECONDS_TO_RUN}s"
set +e
as_pg "$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c "$CLIENTS" -j 2 -T "$SECONDS_TO_RUN" \
    -f "$ROOT_DIR/bench/market_stress.sql" arxos_stress >"$work/pgbench.out" 2>&1
bench_status=$?
set -e
grep -E 'number of (transactions actually processed|failed transactions)|tps' "$work/pgbench.out" || true
grep -m 5 -E 'error|ERROR' "$work/pgbench.out" || true
check "pgbench ran to the end (no client aborted)" "SELECT $bench_status = 0"
check "no failed transactions (no deadlock or other error reached a caller)" \
    "SELECT $(grep -c 'number of failed transactions: 0 ' "$work/pgbench.out") = 1"
check "contributions, verifications and transfers happened" \
    "SELECT (SELECT count(*) FROM arxos.contributions) > 8 AND (SELECT count(*) FROM arxos.verifications) > 0
        AND (SELECT count(*) FROM arxos.ledger_transactions WHERE kind = 'transfer') > 0"
check "ledger_check() finds no violation" "SELECT count(*) = 0 FROM arxos.ledger_check()"
check "holding balances equal a recomputation from the entries" \
    "SELECT bool_and(a.balance = (SELECT coalesce(sum(e.amount), 0) FROM arxos.ledger_entries e WHERE e.account_id = a.id))
       FROM arxos.accounts a WHERE a.contributor_id IS NOT NULL"
check "no balance is negative" "SELECT NOT EXISTS (SELECT 1 FROM arxos.accounts WHERE balance < 0)"
check "every transaction sums to zero" \
    "SELECT NOT EXISTS (SELECT 1 FROM arxos.ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0)"
check "minted per building equals the rewards booked" \
    "SELECT bool_and(t.minted = (SELECT sum(c.tokens_earned) FROM arxos.contributions c WHERE c.building_id = arxos.building_id(k))
                              + (SELECT coalesce(sum(w.verifier_reward), 0) FROM arxos.verifications w
                                   JOIN arxos.contributions c ON c.id = w.contribution_id WHERE c.building_id = arxos.building_id(k)))
       FROM unnest(ARRAY['stress1', 'stress2']) k, arxos.token(k) t"
check "contributor counters equal a recount" \
    "SELECT bool_and(p.contributions = (SELECT count(*) FROM arxos.contributions c WHERE c.contributor_id = p.id)
                 AND p.verified_contributions = (SELECT count(*) FROM arxos.contributions c
                                                  WHERE c.contributor_id = p.id AND c.verified_at IS NOT NULL)
                 AND p.verifications_given = (SELECT count(DISTINCT w.contribution_id) FROM arxos.verifications w WHERE w.verifier_id = p.id))
       FROM arxos.contributors p"
check "the rating's inputs (verified included) equal the oracle" \
    "SELECT bool_and((SELECT row(i.*)::text FROM arxos.rating_inputs(b.id) i) = (SELECT row(i.*)::text FROM arxos.rating_inputs_scan(b.id) i))
       FROM arxos.buildings b WHERE b.key LIKE 'stress%'"

log "idempotency race: $CLIENTS clients, one key"
cat >"$work/race.sql" <<'SQL'
SELECT arxos.contribute('stress1', arxos.contributor_id('worker1'), 'floor_plan_upload', repeat('ab', 32),
                        '{"floor": 3}', idempotency_key => 'the-one-key');
SQL
chmod 644 "$work/race.sql"
set +e
as_pg "$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c "$CLIENTS" -j 2 -t 1 -f "$work/race.sql" arxos_stress \
    >"$work/race.out" 2>&1
race_status=$?
set -e
check "every racing call returned (replays included)" \
    "SELECT $race_status = 0 AND $(grep -c "number of transactions actually processed: $CLIENTS/$CLIENTS" "$work/race.out") = 1"
check "one contribution and one reward for the key" \
    "SELECT count(*) = 1 AND (SELECT count(*) FROM arxos.ledger_transactions t JOIN arxos.contributions c ON c.id = t.contribution_id
                               WHERE c.idempotency_key = 'the-one-key') = 1
       FROM arxos.contributions WHERE idempotency_key = 'the-one-key'"
check "ledger_check() still finds nothing" "SELECT count(*) = 0 FROM arxos.ledger_check()"

psql_q -c "SELECT (SELECT count(*) FROM arxos.contributions) AS contributions,
                  (SELECT count(*) FROM arxos.verifications) AS verifications,
                  (SELECT count(*) FROM arxos.ledger_transactions WHERE kind = 'transfer') AS transfers,
                  (SELECT count(*) FROM arxos.ledger_entries) AS entries"
echo "market stress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
