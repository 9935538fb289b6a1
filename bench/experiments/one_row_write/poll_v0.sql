-- A busy listener, as the shim's (realtime/listener.rs): sequences and reads the outbox every
-- 5 ms, 1000 events at most a time, folding the rating deltas lazily.
SELECT coalesce(max(id), :last) AS last
  FROM arxos.events_since(:last, NULL, NULL, NULL, 1000, lazy_fold => true) \gset
\sleep 5 ms
