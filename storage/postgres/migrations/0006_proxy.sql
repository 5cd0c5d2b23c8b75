-- An instance's proxy: a pool name of proxies.pools or a proxy URL
-- (credentials included: never returned by the API); empty uses
-- proxies.default.
ALTER TABLE wahost_instance_settings ADD COLUMN proxy text NOT NULL DEFAULT '';
-- The proxy a dropped connection went through, by its id (no credentials).
ALTER TABLE wahost_disconnects ADD COLUMN proxy text NOT NULL DEFAULT '';
