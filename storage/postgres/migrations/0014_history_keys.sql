-- Every decision appends a history row and writes an episode: in a storm,
-- ten thousand of each in a second. A foreign key checks each of those
-- rows with a query of its own that locks the instance's row again, about
-- 4 µs of PostgreSQL's time a row, for a guarantee the writers already
-- give: each locks its instance's row (the group's FOR UPDATE, the unit's
-- UPDATE) before writing them. So the two tables keep instance_id without
-- the key, and deleting an instance deletes its history and episodes
-- explicitly, after its row (DeleteInstance).
ALTER TABLE wahost_disconnects DROP CONSTRAINT wahost_disconnects_instance_id_fkey;
ALTER TABLE wahost_episodes DROP CONSTRAINT wahost_episodes_instance_id_fkey;
