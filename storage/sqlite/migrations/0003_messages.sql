-- Incoming and outgoing WhatsApp messages, and the send queue: the queued
-- outgoing rows of an instance, sent in seq order. seq is the rowid;
-- AUTOINCREMENT keeps it increasing after the newest rows are pruned.
CREATE TABLE wahost_messages (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id     TEXT    NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	id              TEXT    NOT NULL,
	chat            TEXT    NOT NULL,
	sender          TEXT    NOT NULL DEFAULT '',
	from_me         INTEGER NOT NULL,
	type            TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL CHECK (status IN
		('queued', 'sent', 'delivered', 'received', 'read', 'played', 'failed')),
	reason          TEXT    NOT NULL DEFAULT '',
	payload         TEXT    CHECK (payload IS NULL OR json_valid(payload)),
	idempotency_key TEXT,
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at INTEGER,
	expires_at      INTEGER,
	ts              INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	-- The time listings order and page by: WhatsApp's time once known.
	sort_at         INTEGER NOT NULL GENERATED ALWAYS AS (COALESCE(ts, created_at)) STORED,
	UNIQUE (instance_id, id),
	CHECK (status <> 'queued' OR from_me)
) STRICT;
CREATE UNIQUE INDEX wahost_messages_idempotency ON wahost_messages (instance_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
CREATE INDEX wahost_messages_queued ON wahost_messages (instance_id, seq)
	WHERE status = 'queued';
CREATE INDEX wahost_messages_expiry ON wahost_messages (expires_at, seq)
	WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX wahost_messages_list ON wahost_messages (instance_id, sort_at DESC, seq DESC);
CREATE INDEX wahost_messages_chat ON wahost_messages (instance_id, chat, sort_at DESC, seq DESC);
CREATE INDEX wahost_messages_prune ON wahost_messages (created_at)
	WHERE status <> 'queued';
