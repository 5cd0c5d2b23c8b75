-- The hosts of a fleet on one database: each renews its row while it runs,
-- so the others know where to forward a request for the instances it
-- drives and how many hosts share the instances.
CREATE TABLE wahost_hosts (
	id text PRIMARY KEY,
	url text NOT NULL DEFAULT '',
	max_instances integer NOT NULL DEFAULT 0,
	started_at timestamptz NOT NULL,
	seen_at timestamptz NOT NULL
);
CREATE INDEX wahost_leases_owner ON wahost_leases (owner);
