-- The hosts of a fleet on one database: each renews its row while it runs,
-- so the others know where to forward a request for the instances it
-- drives and how many hosts share the instances. SQLite is one host: the
-- table exists so that both stores have one schema.
CREATE TABLE wahost_hosts (
	id TEXT PRIMARY KEY,
	url TEXT NOT NULL DEFAULT '',
	max_instances INTEGER NOT NULL DEFAULT 0,
	started_at INTEGER NOT NULL,
	seen_at INTEGER NOT NULL
);
CREATE INDEX wahost_leases_owner ON wahost_leases (owner);
