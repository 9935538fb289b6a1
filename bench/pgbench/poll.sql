-- A busy listener: sequences and reads the outbox every 20 ms, 5000 events at most a time.
SELECT coalesce(max(id), :last) AS last FROM arxos.events_since(:last, NULL, NULL, NULL, 5000) \gset
\sleep 20 ms
