-- Stream entries are numbered after their commit instead of at it. A unit
-- of work inserts its entries with a pending key, a negative seq taken
-- from wahost_event_pending without any lock: -(n * 2^20 + rank), n one
-- value of the sequence per statement and rank the entry's place in that
-- statement, so that ordering pending keys by seq DESC gives the order
-- the entries were enqueued in. wahost_number_events then numbers the
-- committed pending entries, in that order, after the counter's last
-- value, under the counter's row lock, which it holds only for its own
-- short transaction. Commits that write events no longer wait for each
-- other on that lock.
--
-- A reader that has seen seq n never later finds a committed entry below
-- n: the numbering runs serially, each run sees every run before it, and
-- it numbers only entries already committed, above everything numbered
-- before.
CREATE SEQUENCE wahost_event_pending;

CREATE FUNCTION wahost_number_events(batch integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	base bigint;
	numbered bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM wahost_outbox WHERE seq < 0) THEN
		RETURN 0;
	END IF;
	-- Each statement below takes its own snapshot (read committed), so
	-- the update sees whatever the run this lock waited for numbered.
	SELECT last INTO base FROM wahost_event_seq FOR UPDATE;
	WITH p AS (
		SELECT id, row_number() OVER (ORDER BY seq DESC) AS n
		FROM (SELECT id, seq FROM wahost_outbox WHERE seq < 0 ORDER BY seq DESC LIMIT batch) pending
	)
	UPDATE wahost_outbox o SET seq = base + p.n FROM p WHERE o.id = p.id;
	GET DIAGNOSTICS numbered = ROW_COUNT;
	UPDATE wahost_event_seq SET last = base + numbered;
	RETURN numbered;
END
$$;
