-- The event stream: every event gets one stream row in the outbox (stored
-- delivered, so no worker claims it) with a position, seq, that increases
-- in commit order. seq is assigned just before the commit from the one-row
-- counter, whose row lock orders the commits of units of work that wrote
-- events; delivery rows keep seq NULL.
ALTER TABLE wahost_outbox ADD COLUMN seq bigint;
CREATE UNIQUE INDEX wahost_outbox_seq ON wahost_outbox (seq) WHERE seq IS NOT NULL;
CREATE INDEX wahost_outbox_instance ON wahost_outbox (instance_id, created_at DESC) WHERE seq IS NULL;
CREATE TABLE wahost_event_seq (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	last     bigint  NOT NULL
);
INSERT INTO wahost_event_seq (only_row, last) VALUES (true, 0);
