-- A group of units of work sends its rows and its COMMIT in one write. A
-- statement that must touch one row per unit checks its count here, in
-- the server: a count that differs (a row the group expected is gone)
-- raises, which aborts the transaction before the COMMIT arrives.
CREATE FUNCTION wahost_expect_rows(got bigint, want bigint, what text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	IF got <> want THEN
		RAISE EXCEPTION '%: % of % rows', what, got, want USING ERRCODE = 'P0002';
	END IF;
	RETURN got;
END
$$;
