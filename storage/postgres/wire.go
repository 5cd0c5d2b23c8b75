package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/wahost/wahost/storage"
)

// A group's writes go to PostgreSQL in one write and one round trip: the
// update of its instances and its episodes as statements of the extended
// protocol, their parameters arrays in the binary format, then its
// history and outbox rows by COPY (copy.go). pgx would encode each array
// element by element into buffers it grows and then drops, more than the
// rows themselves for a group of 128 decisions; here every value is
// written once, into the buffer the COPYs use.
//
// The statements are prepared once per connection, under fixed names,
// in the first write that needs them.

// A wireStmt is one statement of a group's write: the prepared statement
// name, its text and parameter types; params appends its parameter
// values, each as a COPY field is written. The statement checks in the
// server that it touched as many rows as the group expected (see
// expectRows), so that a COMMIT sent in the same write never commits a
// group that missed a row.
type wireStmt struct {
	op, name, sql string
	oids          []uint32
	params        func(c *copyData)
}

// expectRows wraps sql, a data-modifying statement whose last parameter
// ($n) is the rows it must touch, in the check of migration 0015.
func expectRows(sql string, n int, what string) string {
	return "WITH w AS (" + sql + " RETURNING 1) SELECT wahost_expect_rows(count(*), $" + strconv.Itoa(n) +
		"::bigint, '" + strings.ReplaceAll(what, "'", "''") + "') FROM w"
}

// Type OIDs of the parameters.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidTimestamptz = 1184
	oidUUID        = 2950

	oidBoolArray        = 1000
	oidInt4Array        = 1007
	oidTextArray        = 1009
	oidInt8Array        = 1016
	oidTimestamptzArray = 1185
	oidJSONArray        = 199
	oidUUIDArray        = 2951
)

// preparedKey is where a connection's CustomData records the group
// statements it has prepared.
const preparedKey = "wahost.group.prepared"

// array writes a one-dimensional array parameter of n elements of type
// elem; each writes the i-th, as a COPY field.
func (c *copyData) array(elem uint32, n int, each func(i int)) {
	at := len(c.b)
	c.b = append(c.b, 0, 0, 0, 0) // the length, known at the end
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	flags := len(c.b)
	c.b = binary.BigEndian.AppendUint32(c.b, 0)
	c.b = binary.BigEndian.AppendUint32(c.b, elem)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(n))
	c.b = binary.BigEndian.AppendUint32(c.b, 1) // lower bound
	nulls := c.nulls
	for i := range n {
		each(i)
	}
	if c.nulls != nulls {
		binary.BigEndian.PutUint32(c.b[flags:], 1)
	}
	binary.BigEndian.PutUint32(c.b[at:], uint32(len(c.b)-at-4))
}

// message starts a protocol message of type t and returns where its
// length goes; end writes it.
func (c *copyData) message(t byte) int {
	c.b = append(c.b, t, 0, 0, 0, 0)
	return len(c.b) - 4
}

func (c *copyData) end(at int) { binary.BigEndian.PutUint32(c.b[at:], uint32(len(c.b)-at)) }

func (c *copyData) cstring(s string) { c.b = append(append(c.b, s...), 0) }

// extended appends st as Parse (unless prepared), Bind and Execute.
func (c *copyData) extended(st *wireStmt, prepared bool) {
	if !prepared {
		at := c.message('P')
		c.cstring(st.name)
		c.cstring(st.sql)
		c.b = binary.BigEndian.AppendUint16(c.b, uint16(len(st.oids)))
		for _, oid := range st.oids {
			c.b = binary.BigEndian.AppendUint32(c.b, oid)
		}
		c.end(at)
	}
	at := c.message('B')
	c.cstring("") // the unnamed portal
	c.cstring(st.name)
	c.b = binary.BigEndian.AppendUint16(c.b, 1) // one format for every parameter:
	c.b = binary.BigEndian.AppendUint16(c.b, 1) // binary
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(len(st.oids)))
	st.params(c)
	c.b = binary.BigEndian.AppendUint16(c.b, 0) // results, if any, in text
	c.end(at)
	at = c.message('E')
	c.cstring("")
	c.b = binary.BigEndian.AppendUint32(c.b, 0)
	c.end(at)
}

// write sends stmts, then copies, then with commit a COMMIT, in one
// write, and reads their outcomes. A statement or a COPY the server
// refuses aborts the transaction, and everything after it fails too (the
// protocol has the server skip the rest of the statements to the Sync,
// and drop the rows of COPYs that failed; the COMMIT of an aborted
// transaction rolls it back); the error returned is the first. A value a
// column cannot hold fails the call before anything is sent. With
// commit, write returns nil only when the transaction committed, and
// tells a connTx so.
func write(ctx context.Context, tx pgx.Tx, stmts []wireStmt, copies []copyStmt, commit bool) error {
	if len(stmts) == 0 && len(copies) == 0 && !commit {
		return nil
	}
	c := copyPool.Get().(*copyData)
	defer func() {
		if cap(c.b) <= maxPooledCopy {
			c.b, c.err, c.nulls = c.b[:0], nil, 0
			copyPool.Put(c)
		}
	}()
	c.b, c.err, c.nulls = c.b[:0], nil, 0
	pc := tx.Conn().PgConn()
	prepared, _ := pc.CustomData()[preparedKey].(map[string]bool)
	if prepared == nil {
		prepared = make(map[string]bool)
		pc.CustomData()[preparedKey] = prepared
	}
	var parsing []string // the statements prepared by this write, in order
	for i := range stmts {
		st := &stmts[i]
		if !prepared[st.name] && !contains(parsing, st.name) {
			c.extended(st, false)
			parsing = append(parsing, st.name)
		} else {
			c.extended(st, true)
		}
		if c.err != nil {
			return fmt.Errorf("postgres: %s: %w", st.op, c.err)
		}
	}
	if len(stmts) > 0 {
		c.end(c.message('S'))
	}
	for _, st := range copies {
		c.copyStmt(st)
		if c.err != nil {
			return fmt.Errorf("postgres: %s: %w", st.op, c.err)
		}
	}
	if commit {
		at := c.message('Q')
		c.cstring("COMMIT")
		c.end(at)
	}
	if err := pc.Frontend().SendUnbufferedEncodedCopyData(c.b); err != nil {
		// Part of the messages may be gone: the connection is unusable.
		_ = pc.Close(context.WithoutCancel(ctx))
		switch {
		case len(stmts) > 0:
			return wrapErr(stmts[0].op, err)
		case len(copies) > 0:
			return wrapErr(copies[0].op, err)
		}
		return wrapErr("commit", err)
	}

	var first error
	if len(stmts) > 0 {
		done := 0 // statements whose outcome was read
		for {
			msg, err := pc.ReceiveMessage(ctx)
			if err != nil {
				return wrapErr(stmts[min(done, len(stmts)-1)].op, err)
			}
			switch m := msg.(type) {
			case *pgproto3.ParseComplete:
				prepared[parsing[0]] = true
				parsing = parsing[1:]
			case *pgproto3.CommandComplete:
				done++
			case *pgproto3.ErrorResponse:
				if m.Code == "26000" {
					// The connection lost its prepared statements (a
					// DEALLOCATE ALL or DISCARD ALL): prepare them again
					// next time.
					clear(prepared)
				}
				if first == nil {
					first = wrapErr(stmts[min(done, len(stmts)-1)].op, pgconn.ErrorResponseToPgError(m))
				}
			}
			if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
	}
	for _, st := range copies {
		if err := readCopy(ctx, pc, st); first == nil {
			first = err
		}
	}
	if commit {
		err := readCommit(ctx, pc)
		if first == nil {
			first = err
		}
		if ct, ok := tx.(*connTx); ok && first == nil {
			ct.committed = true
		}
	}
	return first
}

// readCommit reads the outcome of the COMMIT write sent.
func readCommit(ctx context.Context, pc *pgconn.PgConn) error {
	var failed error
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			return wrapErr("commit", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CommandComplete:
			if string(m.CommandTag) == "ROLLBACK" {
				failed = fmt.Errorf("postgres: commit: %w", pgx.ErrTxCommitRollback)
			}
		case *pgproto3.ErrorResponse:
			failed = wrapErr("commit", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.ReadyForQuery:
			return failed
		}
	}
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// Statements of a group's write.
const (
	instancesUpdate = `UPDATE wahost_instances i SET status = u.status, owner_jid = u.owner_jid,
		profile_name = u.profile_name, profile_picture_url = u.profile_picture_url, qr_count = u.qr_count,
		attempt = u.attempt, step = u.step, updated_at = u.updated_at, disconnection_at = u.disconnection_at,
		disconnection_reason_code = u.code, disconnection_object = u.obj, reconnect_due = u.due,
		reconnect_step = u.rstep
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[],
		$9::timestamptz[], $10::timestamptz[], $11::int[], $12::json[], $13::timestamptz[], $14::int[])
		AS u(id, status, owner_jid, profile_name, profile_picture_url, qr_count, attempt, step, updated_at,
		disconnection_at, code, obj, due, rstep)
	WHERE i.id = u.id`
	episodeRows = `unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[],
		$7::text[], $8::int[], $9::int[], $10::bool[], $11::int[], $12::int[], $13::text[], $14::text[], $15::bigint[],
		$16::text[], $17::bool[])`
	episodesInsert = `INSERT INTO wahost_episodes (id, instance_id, started_at, ended_at, outcome, end_kind, end_rule,
		attempts, max_step, needed_qr, fallbacks, loops_440, policy_sha256, policy, generation, arm, mixed)
	OVERRIDING SYSTEM VALUE SELECT * FROM ` + episodeRows
	episodesUpdate = `UPDATE wahost_episodes e SET instance_id = u.instance_id, started_at = u.started_at,
		ended_at = u.ended_at, outcome = u.outcome, end_kind = u.end_kind, end_rule = u.end_rule,
		attempts = u.attempts, max_step = u.max_step, needed_qr = u.needed_qr, fallbacks = u.fallbacks,
		loops_440 = u.loops_440, policy_sha256 = u.policy_sha256, policy = u.policy, generation = u.generation,
		arm = u.arm, mixed = u.mixed
	FROM ` + episodeRows + ` AS u(id, instance_id, started_at, ended_at, outcome, end_kind, end_rule, attempts,
		max_step, needed_qr, fallbacks, loops_440, policy_sha256, policy, generation, arm, mixed)
	WHERE e.id = u.id`
)

var (
	instancesOIDs = []uint32{oidUUIDArray, oidTextArray, oidTextArray, oidTextArray, oidTextArray, oidInt4Array,
		oidInt4Array, oidInt4Array, oidTimestamptzArray, oidTimestamptzArray, oidInt4Array, oidJSONArray,
		oidTimestamptzArray, oidInt4Array, oidInt8}
	episodesOIDs = []uint32{oidInt8Array, oidUUIDArray, oidTimestamptzArray, oidTimestamptzArray, oidTextArray,
		oidTextArray, oidTextArray, oidInt4Array, oidInt4Array, oidBoolArray, oidInt4Array, oidInt4Array,
		oidTextArray, oidTextArray, oidInt8Array, oidTextArray, oidBoolArray, oidInt8}
)

// instancesStmt updates rows, one per instance.
func instancesStmt(rows []storage.Instance) wireStmt {
	return wireStmt{op: "write the group's rows", name: "wahost_group_instances",
		sql:  expectRows(instancesUpdate, len(instancesOIDs), "update the group's instances"),
		oids: instancesOIDs, params: func(c *copyData) {
			n := len(rows)
			c.array(oidUUID, n, func(i int) { c.uuid("instance id", rows[i].ID) })
			c.array(oidText, n, func(i int) { c.text(string(rows[i].Status)) })
			c.array(oidText, n, func(i int) { c.text(rows[i].OwnerJID) })
			c.array(oidText, n, func(i int) { c.text(rows[i].ProfileName) })
			c.array(oidText, n, func(i int) { c.text(rows[i].ProfilePictureURL) })
			c.array(oidInt4, n, func(i int) { c.int4("qr count", rows[i].QRCount) })
			c.array(oidInt4, n, func(i int) { c.int4("attempt", rows[i].Attempt) })
			c.array(oidInt4, n, func(i int) { c.int4("step", rows[i].Step) })
			c.array(oidTimestamptz, n, func(i int) { c.timestamptz(rows[i].UpdatedAt) })
			c.array(oidTimestamptz, n, func(i int) { c.timestamptzOrNull(rows[i].DisconnectionAt) })
			c.array(oidInt4, n, func(i int) { c.int4("disconnection reason code", rows[i].DisconnectionReasonCode) })
			c.array(oidJSON, n, func(i int) { c.json(rows[i].DisconnectionObject) })
			c.array(oidTimestamptz, n, func(i int) { c.timestamptzOrNull(reconnectDue(rows[i].Reconnect)) })
			c.array(oidInt4, n, func(i int) { c.int4("reconnect step", reconnectStep(rows[i].Reconnect)) })
			c.int8(int64(n))
		}}
}

// episodesStmt inserts eps (their ids taken) or updates them.
func episodesStmt(eps []storage.Episode, insert bool) wireStmt {
	st := wireStmt{op: "write the group's rows", name: "wahost_group_episodes_update",
		sql: expectRows(episodesUpdate, len(episodesOIDs), "update the group's episodes"), oids: episodesOIDs}
	if insert {
		st.name, st.sql = "wahost_group_episodes_insert", expectRows(episodesInsert, len(episodesOIDs), "insert the group's episodes")
	}
	st.params = func(c *copyData) {
		n := len(eps)
		c.array(oidInt8, n, func(i int) { c.int8(eps[i].ID) })
		c.array(oidUUID, n, func(i int) { c.uuid("instance id", eps[i].InstanceID) })
		c.array(oidTimestamptz, n, func(i int) { c.timestamptz(eps[i].StartedAt) })
		c.array(oidTimestamptz, n, func(i int) { c.timestamptzOrNull(eps[i].EndedAt) })
		c.array(oidText, n, func(i int) { c.text(eps[i].Outcome) })
		c.array(oidText, n, func(i int) { c.text(eps[i].EndKind) })
		c.array(oidText, n, func(i int) { c.text(eps[i].EndRule) })
		c.array(oidInt4, n, func(i int) { c.int4("attempts", eps[i].Attempts) })
		c.array(oidInt4, n, func(i int) { c.int4("max step", eps[i].MaxStep) })
		c.array(oidBool, n, func(i int) { c.bool(eps[i].NeededQR) })
		c.array(oidInt4, n, func(i int) { c.int4("fallbacks", eps[i].Fallbacks) })
		c.array(oidInt4, n, func(i int) { c.int4("440 loops", eps[i].Loops440) })
		c.array(oidText, n, func(i int) { c.text(eps[i].PolicySHA256) })
		c.array(oidText, n, func(i int) { c.text(eps[i].Policy) })
		c.array(oidInt8, n, func(i int) { c.int8(int64(eps[i].Generation)) })
		c.array(oidText, n, func(i int) { c.text(eps[i].Arm) })
		c.array(oidBool, n, func(i int) { c.bool(eps[i].Mixed) })
		c.int8(int64(n))
	}
	return st
}
