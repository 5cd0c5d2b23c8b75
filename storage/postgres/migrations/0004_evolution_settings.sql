-- Evolution API's webhook settings (custom headers, base64 media, a
-- disabled flag that keeps the URL) and the instance's own API token,
-- kept as its SHA-256 (and in clear only when webhooks expose it).
ALTER TABLE wahost_instance_settings
	ADD COLUMN webhook_headers  jsonb,
	ADD COLUMN webhook_base64   boolean NOT NULL DEFAULT false,
	ADD COLUMN webhook_disabled boolean NOT NULL DEFAULT false,
	ADD COLUMN token_sha256     text    NOT NULL DEFAULT '',
	ADD COLUMN token            text    NOT NULL DEFAULT '';
