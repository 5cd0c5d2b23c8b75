-- Event sinks besides webhooks: an outbox row may go to a message broker
-- instead of a URL (destination names the broker and the target; empty
-- means the webhook URL in the payload), and an instance's settings say
-- which events it publishes to RabbitMQ and NATS.
ALTER TABLE wahost_outbox ADD COLUMN destination TEXT NOT NULL DEFAULT '';
ALTER TABLE wahost_instance_settings ADD COLUMN sinks TEXT NOT NULL DEFAULT '{}';
-- A broker row is claimed only behind the earlier pending rows of its
-- instance and destination: this index finds them.
CREATE INDEX wahost_outbox_lane ON wahost_outbox (instance_id, destination, id)
	WHERE destination <> '' AND delivered_at IS NULL AND failed_at IS NULL;
