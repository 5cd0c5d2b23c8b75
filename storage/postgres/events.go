package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// A stream entry's seq must follow commit order: a reader that has seen
// seq n must never later find a committed entry below n. A sequence would
// number entries when they are inserted, and two units of work can commit
// in the other order; numbering them at the commit from a one-row counter
// made every commit that wrote events wait for the one before it. So a
// unit of work inserts its entries with a pending key instead (a negative
// seq, see outboxInsert), and wahost_number_events numbers the committed
// ones afterwards: the readers of the stream run it before they read
// (EventsAfter, EventBounds), and so does pruning, so that no entry is
// pruned before it had a number. Migration 0012 says why the order holds.

// pendingBatch bounds the entries one numbering run takes.
const pendingBatch = 10000

// enqueueStream stores and numbers a stream entry enqueued outside a unit
// of work (inside one, it is inserted at the end with a pending key: see
// outboxInsert).
func (o ops) enqueueStream(ctx context.Context, ev storage.OutboxEvent, now time.Time) (storage.OutboxEvent, error) {
	out, err := scanEvent(o.q.QueryRow(ctx, `WITH n AS (UPDATE wahost_event_seq SET last = last + 1 RETURNING last)
	INSERT INTO wahost_outbox (id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq)
	SELECT $1, $2, $3, $4, $5, $5, $5, n.last FROM n RETURNING `+outboxCols,
		ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now))
	return out, wrapErr("enqueue "+ev.Event, err)
}

// numberPending numbers the committed stream entries that have a pending
// key, in runs of pendingBatch, all of them when all is set; inside a
// unit of work it does nothing, since the counter's lock would be held
// to that unit's commit.
func (o ops) numberPending(ctx context.Context, all bool) error {
	if o.inTx {
		return nil
	}
	for {
		var n int64
		if err := o.q.QueryRow(ctx, "SELECT wahost_number_events($1)", pendingBatch).Scan(&n); err != nil {
			return wrapErr("number events", err)
		}
		if !all || n < pendingBatch {
			return nil
		}
	}
}

// EventsAfter returns stream entries above after, in seq order.
func (o ops) EventsAfter(ctx context.Context, after int64, f storage.EventFilter, limit int) ([]storage.OutboxEvent, error) {
	if err := o.numberPending(ctx, false); err != nil {
		return nil, err
	}
	q := "SELECT " + outboxCols + " FROM wahost_outbox WHERE seq > $1"
	args := []any{after, clampLimit(limit)}
	if f.InstanceID != "" {
		if err := storage.ValidateID("instance id", f.InstanceID); err != nil {
			return nil, err
		}
		args = append(args, f.InstanceID)
		q += fmt.Sprintf(" AND instance_id = $%d", len(args))
	}
	if len(f.Events) > 0 {
		args = append(args, f.Events)
		q += fmt.Sprintf(" AND event = ANY($%d)", len(args))
	}
	rows, err := o.q.Query(ctx, q+" ORDER BY seq LIMIT $2", args...)
	if err != nil {
		return nil, wrapErr("events after", err)
	}
	out, err := collectEvents(rows)
	return out, wrapErr("events after", err)
}

// EventBounds returns the lowest and highest seq stored.
func (o ops) EventBounds(ctx context.Context) (first, last int64, err error) {
	if err := o.numberPending(ctx, false); err != nil {
		return 0, 0, err
	}
	err = o.q.QueryRow(ctx, `SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM wahost_outbox
	WHERE seq > 0`).Scan(&first, &last)
	return first, last, wrapErr("event bounds", err)
}

// InstanceDeliveries returns an instance's webhook deliveries newest first.
func (o ops) InstanceDeliveries(ctx context.Context, instanceID string, limit int) ([]storage.OutboxEvent, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	rows, err := o.q.Query(ctx, "SELECT "+outboxCols+` FROM wahost_outbox
	WHERE instance_id = $1 AND seq IS NULL ORDER BY created_at DESC, id DESC LIMIT $2`, instanceID, clampLimit(limit))
	if err != nil {
		return nil, wrapErr("instance deliveries", err)
	}
	out, err := collectEvents(rows)
	return out, wrapErr("instance deliveries", err)
}
