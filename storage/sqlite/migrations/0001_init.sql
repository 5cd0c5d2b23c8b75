-- Timestamps are INTEGER microseconds since the Unix epoch (UTC); JSON is
-- TEXT checked by json_valid and kept byte for byte; booleans are 0 or 1.

-- Instances and the fields Evolution API clients read.
CREATE TABLE wahost_instances (
	id                        TEXT    PRIMARY KEY,
	name                      TEXT    NOT NULL UNIQUE
		CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9_.-]*' AND name NOT IN ('.', '..')),
	status                    TEXT    NOT NULL,
	owner_jid                 TEXT    NOT NULL DEFAULT '',
	profile_name              TEXT    NOT NULL DEFAULT '',
	profile_picture_url       TEXT    NOT NULL DEFAULT '',
	qr_count                  INTEGER NOT NULL DEFAULT 0 CHECK (qr_count >= 0),
	attempt                   INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
	step                      INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
	created_at                INTEGER NOT NULL,
	updated_at                INTEGER NOT NULL,
	disconnection_at          INTEGER,
	disconnection_reason_code INTEGER NOT NULL DEFAULT 0,
	disconnection_object      TEXT    CHECK (disconnection_object IS NULL OR json_valid(disconnection_object))
) STRICT;

-- Per-instance settings, kept apart from the state the executor rewrites.
CREATE TABLE wahost_instance_settings (
	instance_id       TEXT    PRIMARY KEY REFERENCES wahost_instances (id) ON DELETE CASCADE,
	webhook_url       TEXT    NOT NULL DEFAULT '',
	webhook_events    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(webhook_events)),
	webhook_by_events INTEGER NOT NULL DEFAULT 0,
	policy_override   TEXT    NOT NULL DEFAULT '',
	qr_limit          INTEGER NOT NULL DEFAULT 0 CHECK (qr_limit >= 0),
	updated_at        INTEGER NOT NULL
) STRICT;

-- Every disconnect and the decision taken: the policy's history input and
-- the audit trail. AUTOINCREMENT keeps IDs increasing after deletes.
CREATE TABLE wahost_disconnects (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id   TEXT    NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	at            INTEGER NOT NULL,
	kind          TEXT    NOT NULL,
	code          INTEGER NOT NULL DEFAULT 0,
	raw           TEXT    NOT NULL DEFAULT '',
	message       TEXT    NOT NULL DEFAULT '',
	cause         TEXT    NOT NULL DEFAULT '',
	decision      TEXT    CHECK (decision IS NULL OR json_valid(decision)),
	action        TEXT    NOT NULL DEFAULT '',
	rule          TEXT    NOT NULL DEFAULT '',
	policy_sha256 TEXT    NOT NULL DEFAULT '',
	fallback      INTEGER NOT NULL DEFAULT 0,
	latency_ns    INTEGER NOT NULL DEFAULT 0,
	attempt       INTEGER NOT NULL DEFAULT 0,
	step          INTEGER NOT NULL DEFAULT 0,
	jitter_seed   INTEGER NOT NULL DEFAULT 0,
	shadow        TEXT    CHECK (shadow IS NULL OR json_valid(shadow)),
	shadow_sha256 TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX wahost_disconnects_instance_at ON wahost_disconnects (instance_id, at DESC, id DESC);
CREATE INDEX wahost_disconnects_instance_id ON wahost_disconnects (instance_id, id DESC);

-- The webhook outbox. instance_id has no foreign key: the events announcing
-- an instance's removal outlive it.
CREATE TABLE wahost_outbox (
	id              TEXT    PRIMARY KEY,
	instance_id     TEXT    NOT NULL,
	event           TEXT    NOT NULL,
	payload         TEXT    NOT NULL CHECK (json_valid(payload)),
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	delivered_at    INTEGER,
	failed_at       INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	claimed_by      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX wahost_outbox_due ON wahost_outbox (next_attempt_at, id)
	WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX wahost_outbox_failed ON wahost_outbox (failed_at DESC)
	WHERE failed_at IS NOT NULL;
CREATE INDEX wahost_outbox_delivered ON wahost_outbox (delivered_at)
	WHERE delivered_at IS NOT NULL;

-- One lease per instance; the row outlives releases so tokens only grow.
CREATE TABLE wahost_leases (
	instance_id TEXT    PRIMARY KEY REFERENCES wahost_instances (id) ON DELETE CASCADE,
	owner       TEXT    NOT NULL,
	token       INTEGER NOT NULL CHECK (token > 0),
	expires_at  INTEGER NOT NULL
) STRICT;

-- Cache purges that failed and wait for a retry.
CREATE TABLE wahost_pending_purges (
	instance        TEXT    PRIMARY KEY,
	generation      INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;
