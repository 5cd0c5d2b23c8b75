-- An instance's row is rewritten at every disconnect and reconnect. With
-- room left on its pages, those updates stay on the page (heap-only
-- tuples) and write no index entry.
ALTER TABLE wahost_instances SET (fillfactor = 70);
