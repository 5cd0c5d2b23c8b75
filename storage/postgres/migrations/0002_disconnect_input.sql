-- The input document the policy decided on (its history left out: replay
-- rebuilds it from the rows before), so a recorded disconnect can be
-- decided again by another policy.
ALTER TABLE wahost_disconnects ADD COLUMN input json;
