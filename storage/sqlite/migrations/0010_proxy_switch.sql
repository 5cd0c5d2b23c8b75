-- The proxy a decision's switch_proxy moved the instance to before its
-- next connect, by its id (no credentials); empty when it did not move.
ALTER TABLE wahost_disconnects ADD COLUMN proxy_to TEXT NOT NULL DEFAULT '';
