-- Incoming and outgoing WhatsApp messages, and the send queue: the queued
-- outgoing rows of an instance, sent in seq order.
CREATE TABLE wahost_messages (
	instance_id     uuid        NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	id              text        NOT NULL,
	seq             bigint      GENERATED ALWAYS AS IDENTITY,
	chat            text        NOT NULL,
	sender          text        NOT NULL DEFAULT '',
	from_me         boolean     NOT NULL,
	type            text        NOT NULL DEFAULT '',
	status          text        NOT NULL CHECK (status IN
		('queued', 'sent', 'delivered', 'received', 'read', 'played', 'failed')),
	reason          text        NOT NULL DEFAULT '',
	payload         json,
	idempotency_key text,
	attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz,
	expires_at      timestamptz,
	ts              timestamptz,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	-- The time listings order and page by: WhatsApp's time once known.
	sort_at         timestamptz NOT NULL GENERATED ALWAYS AS (COALESCE(ts, created_at)) STORED,
	PRIMARY KEY (instance_id, id),
	CONSTRAINT wahost_messages_seq_key UNIQUE (seq),
	CONSTRAINT wahost_messages_queued_from_me CHECK (status <> 'queued' OR from_me)
);
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
