-- The building's rating, from the counters.
SELECT * FROM arxos.rating(:building);
