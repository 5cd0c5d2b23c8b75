-- The event stream: every event gets one stream row in the outbox (stored
-- delivered, so no worker claims it) with a position, seq, one above the
-- highest stored. SQLite has one writer, so positions follow commit order;
-- pruning never deletes the row with the highest seq, so positions are
-- never reused. Delivery rows keep seq NULL.
ALTER TABLE wahost_outbox ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX wahost_outbox_seq ON wahost_outbox (seq) WHERE seq IS NOT NULL;
CREATE INDEX wahost_outbox_instance ON wahost_outbox (instance_id, created_at DESC) WHERE seq IS NULL;
