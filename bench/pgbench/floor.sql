-- The floor of any statement: the same sample lookup as the others, then a prepared statement
-- that reads nothing. Its statement average is the round trip and executor start-up every
-- measured statement pays before it reads a row.
\set i random(1, :ndirs)
SELECT path AS p FROM bench.dirs WHERE id = :i \gset
SELECT 1;
