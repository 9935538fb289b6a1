-- pgbench script of scripts/market_stress.sh: contributions, verifications and transfers on
-- the same few contributors (workers worker1..4, verifiers verifier1..2) of two buildings. The helpers of
-- schema stress (created by the script) call the real SQL API; see the script's header.
\set op random(1, 100)
\set w random(1, 4)
\set other random(1, 6)
\set v random(1, 2)
\set b random(1, 2)
\set amount random(1, 40)
\if :op <= 45
SELECT stress.contribute(:b, :w, :client_id);
\elif :op <= 70
SELECT stress.verify(:b, :v);
\else
SELECT stress.transfer(:w, :other, :amount, :b);
\endif
