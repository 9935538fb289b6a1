-- A single-row update of arxos.objects (history, events and rating counters follow).
\set i random(1, :nids)
\set h random(0, 100)
UPDATE arxos.objects SET health = :h WHERE id = (SELECT id FROM bench.ids WHERE n = :i);
