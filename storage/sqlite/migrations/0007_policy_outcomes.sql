-- Outage episodes, for comparing policies: one row per outage of an
-- instance, from the first drop of an open session to its end. Pruned with
-- the disconnect history.
CREATE TABLE wahost_episodes (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id   TEXT    NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER,
	outcome       TEXT    NOT NULL DEFAULT '',
	end_kind      TEXT    NOT NULL DEFAULT '',
	end_rule      TEXT    NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 0,
	max_step      INTEGER NOT NULL DEFAULT 0,
	needed_qr     INTEGER NOT NULL DEFAULT 0,
	fallbacks     INTEGER NOT NULL DEFAULT 0,
	loops_440     INTEGER NOT NULL DEFAULT 0,
	policy_sha256 TEXT    NOT NULL DEFAULT '',
	policy        TEXT    NOT NULL DEFAULT '',
	generation    INTEGER NOT NULL DEFAULT 0,
	arm           TEXT    NOT NULL DEFAULT '',
	mixed         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX wahost_episodes_started ON wahost_episodes (started_at);
CREATE UNIQUE INDEX wahost_episodes_open ON wahost_episodes (instance_id) WHERE outcome = '';

-- The policy rollout in progress or last finished: one row.
CREATE TABLE wahost_rollout (
	only_row        INTEGER PRIMARY KEY CHECK (only_row = 1),
	id              TEXT    NOT NULL,
	module          TEXT    NOT NULL,
	sha256          TEXT    NOT NULL,
	policy          TEXT    NOT NULL,
	stable_policy   TEXT    NOT NULL,
	step            INTEGER NOT NULL,
	status          TEXT    NOT NULL,
	reason          TEXT    NOT NULL DEFAULT '',
	started_at      INTEGER NOT NULL,
	step_started_at INTEGER NOT NULL,
	canary_episodes INTEGER NOT NULL DEFAULT 0,
	stable_episodes INTEGER NOT NULL DEFAULT 0,
	detail          TEXT CHECK (detail IS NULL OR json_valid(detail)),
	updated_at      INTEGER NOT NULL
);
