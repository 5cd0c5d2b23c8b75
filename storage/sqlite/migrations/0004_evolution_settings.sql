-- Evolution API's webhook settings (custom headers, base64 media, a
-- disabled flag that keeps the URL) and the instance's own API token,
-- kept as its SHA-256 (and in clear only when webhooks expose it).
ALTER TABLE wahost_instance_settings ADD COLUMN webhook_headers TEXT NOT NULL DEFAULT '{}';
ALTER TABLE wahost_instance_settings ADD COLUMN webhook_base64 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wahost_instance_settings ADD COLUMN webhook_disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wahost_instance_settings ADD COLUMN token_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE wahost_instance_settings ADD COLUMN token TEXT NOT NULL DEFAULT '';
