package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// A group's outbox rows, four or more a decision and hundreds a group, go
// to PostgreSQL by COPY in its binary format rather than as arrays of an
// INSERT. pgx encodes a statement's arguments into buffers it starts
// small for every statement and grows by doubling, element by element; in
// a storm that copying and the garbage it left were a quarter of the
// host's work. Here the rows are written once into a buffer the groups
// reuse, and the server reads them without taking arrays apart.

// copyMin is the fewest outbox rows a group sends by COPY: fewer go with
// the group's other statements (outboxInsert), in the same round trip,
// where COPY takes two of its own.
const copyMin = 64

// copyData is rows in the binary format of COPY FROM.
type copyData struct{ b []byte }

// copyHeader is the format's signature, flags and header extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00")

var copyPool = sync.Pool{New: func() any { return &copyData{b: make([]byte, 0, 64<<10)} }}

// maxPooledCopy is the largest buffer kept for the next group.
const maxPooledCopy = 4 << 20

func (c *copyData) row(fields int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(fields)) }

func (c *copyData) null() { c.b = binary.BigEndian.AppendUint32(c.b, 0xffffffff) }

func (c *copyData) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// json writes a json column: its binary format is the text.
func (c *copyData) json(b []byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(b)))
	c.b = append(c.b, b...)
}

func (c *copyData) int8(v int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
}

// pgEpoch is where timestamptz counts its microseconds from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

func (c *copyData) timestamptz(t time.Time) {
	c.int8(t.UnixMicro() - pgEpoch)
}

func (c *copyData) uuid(s string) error {
	c.b = binary.BigEndian.AppendUint32(c.b, 16)
	b, err := encodeStringUUID{}.Encode(s, c.b)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	c.b = b
	return nil
}

// copyOutbox inserts evs, the outbox rows of a group, by COPY. A stream
// entry's pending key is -(pending * 2^20 + rank), as outboxInsert gives
// it, with pending the value of wahost_event_pending the group took.
func copyOutbox(ctx context.Context, tx pgx.Tx, evs []storage.OutboxEvent, pending int64) error {
	return copyIn(ctx, tx, "enqueue webhooks", `COPY wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq, destination)
		FROM STDIN (FORMAT binary)`, len(evs), func(c *copyData) error {
		var rank int64
		for _, ev := range evs {
			c.row(9)
			if err := c.uuid(ev.ID); err != nil {
				return fmt.Errorf("event id %w", err)
			}
			if err := c.uuid(ev.InstanceID); err != nil {
				return fmt.Errorf("instance id %w", err)
			}
			c.text(ev.Event)
			c.json(ev.Payload)
			c.timestamptz(ev.CreatedAt)
			c.timestamptz(ev.NextAttemptAt)
			if ev.DeliveredAt != nil {
				c.timestamptz(*ev.DeliveredAt)
			} else {
				c.null()
			}
			if ev.Stream {
				rank++
				c.int8(-(pending*1048576 + rank))
			} else {
				c.null()
			}
			c.text(ev.Destination)
		}
		return nil
	})
}

// int4 writes an integer column, failing for a value it cannot hold as
// the server would.
func (c *copyData) int4(v int) error {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return fmt.Errorf("%d is out of range for type integer", v)
	}
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(int32(v)))
	return nil
}

func (c *copyData) bool(v bool) {
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	if v {
		c.b = append(c.b, 1)
	} else {
		c.b = append(c.b, 0)
	}
}

// jsonOrNull writes an empty document as NULL, as jsonText does.
func (c *copyData) jsonOrNull(b []byte) {
	if len(b) == 0 {
		c.null()
		return
	}
	c.json(b)
}

// copyDisconnects inserts the history rows of a group, their ids taken,
// by COPY.
func copyDisconnects(ctx context.Context, tx pgx.Tx, rows []storage.Disconnect) error {
	return copyIn(ctx, tx, "record the group's history", `COPY wahost_disconnects (id, instance_id, at, kind, code,
		raw, message, cause, decision, action, rule, policy_sha256, fallback, latency_ns, attempt, step, jitter_seed,
		shadow, shadow_sha256, input, proxy, proxy_to) FROM STDIN (FORMAT binary)`, len(rows), func(c *copyData) error {
		for _, d := range rows {
			c.row(22)
			c.int8(d.ID)
			if err := c.uuid(d.InstanceID); err != nil {
				return fmt.Errorf("instance id %w", err)
			}
			c.timestamptz(d.At)
			c.text(d.Kind)
			if err := c.int4(d.Code); err != nil {
				return fmt.Errorf("code %w", err)
			}
			c.text(d.Raw)
			c.text(d.Message)
			c.text(d.Cause)
			c.jsonOrNull(d.Decision)
			c.text(d.Action)
			c.text(d.Rule)
			c.text(d.PolicySHA256)
			c.bool(d.Fallback)
			c.int8(int64(d.Latency))
			if err := c.int4(d.Attempt); err != nil {
				return fmt.Errorf("attempt %w", err)
			}
			if err := c.int4(d.Step); err != nil {
				return fmt.Errorf("step %w", err)
			}
			c.int8(int64(d.JitterSeed))
			c.jsonOrNull(d.Shadow)
			c.text(d.ShadowSHA256)
			c.jsonOrNull(d.Input)
			c.text(d.Proxy)
			c.text(d.ProxyTo)
		}
		return nil
	})
}

// copyIn runs sql, a COPY FROM STDIN in the binary format, with the n
// rows write appends.
func copyIn(ctx context.Context, tx pgx.Tx, op, sql string, n int, write func(c *copyData) error) error {
	c := copyPool.Get().(*copyData)
	defer func() {
		if cap(c.b) <= maxPooledCopy {
			c.b = c.b[:0]
			copyPool.Put(c)
		}
	}()
	c.b = append(c.b[:0], copyHeader...)
	if err := write(c); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	c.b = binary.BigEndian.AppendUint16(c.b, 0xffff)
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.b), sql)
	if err != nil {
		return wrapErr(op, err)
	}
	if got := tag.RowsAffected(); got != int64(n) {
		return fmt.Errorf("postgres: %s: %d of %d rows: %w", op, got, n, storage.ErrNotFound)
	}
	return nil
}
