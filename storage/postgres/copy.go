package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/wahost/wahost/storage"
)

// A group's outbox rows (512 envelopes in a storm) and history rows (128
// decisions with their inputs) go to PostgreSQL by COPY in its binary
// format rather than as the arrays of an INSERT. pgx encodes a statement's
// arguments element by element into a buffer it starts small for every
// statement and grows by doubling, then copies them again: for those two
// statements, more than half of what a decision allocated. Here the rows
// are written once into a buffer the groups reuse, in the group's one
// write (wire.go).

// copyData is rows in the binary format of COPY FROM. The first value a
// column cannot hold is kept in err, and the writes after it are moot.
type copyData struct {
	b     []byte
	err   error
	nulls int // NULLs written, for the arrays' flags
}

// copyHeader is the format's signature, flags and header extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00")

var copyPool = sync.Pool{New: func() any { return &copyData{b: make([]byte, 0, 64<<10)} }}

// maxPooledCopy is the largest buffer kept for the next group.
const maxPooledCopy = 4 << 20

// pgEpoch is where timestamptz counts its microseconds from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

func (c *copyData) row(fields int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(fields)) }

func (c *copyData) null() {
	c.b = binary.BigEndian.AppendUint32(c.b, 0xffffffff)
	c.nulls++
}

func (c *copyData) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// json writes a json column, whose binary format is its text; an empty
// document is NULL, as jsonText passes it.
func (c *copyData) json(b []byte) {
	if len(b) == 0 {
		c.null()
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(b)))
	c.b = append(c.b, b...)
}

func (c *copyData) bool(v bool) {
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	if v {
		c.b = append(c.b, 1)
	} else {
		c.b = append(c.b, 0)
	}
}

func (c *copyData) int8(v int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
}

// int4 writes an integer column, refusing, as the server would, a value it
// cannot hold.
func (c *copyData) int4(column string, v int) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		c.fail(fmt.Errorf("%s: %d is out of range for type integer", column, v))
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(int32(v)))
}

func (c *copyData) timestamptz(t time.Time) { c.int8(t.UnixMicro() - pgEpoch) }

func (c *copyData) timestamptzOrNull(t *time.Time) {
	if t == nil {
		c.null()
		return
	}
	c.timestamptz(*t)
}

func (c *copyData) uuid(column, s string) {
	b, err := encodeStringUUID{}.Encode(s, binary.BigEndian.AppendUint32(c.b, 16))
	if err != nil {
		c.fail(fmt.Errorf("%s %q: %w", column, s, err))
		return
	}
	c.b = b
}

func (c *copyData) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// A copyStmt is one COPY FROM STDIN in the binary format: write appends
// its n rows.
type copyStmt struct {
	op, sql string
	n       int
	write   func(c *copyData)
}

// copyStmt appends st: its query, then its rows as one CopyData message,
// then CopyDone. pgconn's CopyFrom would take two round trips and a
// goroutine for each COPY, and in a storm every wait for the network is
// a wait behind thousands of runnable goroutines too.
func (c *copyData) copyStmt(st copyStmt) {
	at := c.message('Q')
	c.cstring(st.sql)
	c.end(at)
	at = c.message('d')
	c.b = append(c.b, copyHeader...)
	st.write(c)
	c.b = binary.BigEndian.AppendUint16(c.b, 0xffff)
	c.end(at)
	c.end(c.message('c'))
}

// readCopy reads the outcome of st, sent by copyStmt: an error, or a
// count of rows that must be st's. The server drops the rows of a COPY
// it refused before reading them, as it drops any that arrive outside a
// COPY.
func readCopy(ctx context.Context, pc *pgconn.PgConn, st copyStmt) error {
	var tag pgconn.CommandTag
	var failed error
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			return wrapErr(st.op, err)
		}
		switch m := msg.(type) {
		case *pgproto3.CommandComplete:
			tag = pgconn.NewCommandTag(string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			failed = wrapErr(st.op, pgconn.ErrorResponseToPgError(m))
		case *pgproto3.ReadyForQuery:
			if failed == nil && tag.RowsAffected() != int64(st.n) {
				failed = fmt.Errorf("postgres: %s: %d of %d rows copied", st.op, tag.RowsAffected(), st.n)
			}
			return failed
		}
	}
}

// outboxCopy inserts evs, the outbox rows of a group. A stream entry's
// pending key is -(pending * 2^20 + rank), as outboxInsert gives it, with
// pending the value of wahost_event_pending the group took.
func outboxCopy(evs []storage.OutboxEvent, pending int64) copyStmt {
	return copyStmt{"enqueue webhooks", `COPY wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq, destination)
		FROM STDIN (FORMAT binary)`, len(evs), func(c *copyData) {
		var rank int64
		for _, ev := range evs {
			c.row(9)
			c.uuid("event id", ev.ID)
			c.uuid("instance id", ev.InstanceID)
			c.text(ev.Event)
			c.json(ev.Payload)
			c.timestamptz(ev.CreatedAt)
			c.timestamptz(ev.NextAttemptAt)
			c.timestamptzOrNull(ev.DeliveredAt)
			if ev.Stream {
				rank++
				c.int8(-(pending*1048576 + rank))
			} else {
				c.null()
			}
			c.text(ev.Destination)
		}
	}}
}

// historyCopy inserts the history rows of a group, their ids taken.
func historyCopy(rows []storage.Disconnect) copyStmt {
	return copyStmt{"record the group's history", `COPY wahost_disconnects (id, instance_id, at, kind, code,
		raw, message, cause, decision, action, rule, policy_sha256, fallback, latency_ns, attempt, step, jitter_seed,
		shadow, shadow_sha256, input, proxy, proxy_to) FROM STDIN (FORMAT binary)`, len(rows), func(c *copyData) {
		for _, d := range rows {
			c.row(22)
			c.int8(d.ID)
			c.uuid("instance id", d.InstanceID)
			c.timestamptz(d.At)
			c.text(d.Kind)
			c.int4("code", d.Code)
			c.text(d.Raw)
			c.text(d.Message)
			c.text(d.Cause)
			c.json(d.Decision)
			c.text(d.Action)
			c.text(d.Rule)
			c.text(d.PolicySHA256)
			c.bool(d.Fallback)
			c.int8(int64(d.Latency))
			c.int4("attempt", d.Attempt)
			c.int4("step", d.Step)
			c.int8(int64(d.JitterSeed))
			c.json(d.Shadow)
			c.text(d.ShadowSHA256)
			c.json(d.Input)
			c.text(d.Proxy)
			c.text(d.ProxyTo)
		}
	}}
}
