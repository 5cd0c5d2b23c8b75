-- The reconnect a decision scheduled, so that a restart honours its delay
-- and escalation step instead of reconnecting at once. NULL: none pending.
ALTER TABLE wahost_instances ADD COLUMN reconnect_due timestamptz;
ALTER TABLE wahost_instances ADD COLUMN reconnect_step integer NOT NULL DEFAULT 0 CHECK (reconnect_step >= 0);
